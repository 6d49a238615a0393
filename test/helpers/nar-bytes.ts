// Crafted NAR archives for tests of the parser and the unpacking sink (real ones come from `nix-store --dump`).

/** NAR strings: u64 LE length, bytes, zero padding to 8. */
export function str(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(b.length));
  return Buffer.concat([len, b, Buffer.alloc((8 - (b.length % 8)) % 8)]);
}
export const nar = (...parts: (string | Buffer)[]): Buffer => Buffer.concat([str('nix-archive-1'), ...parts.map(str)]);
export const file = (contents: string | Buffer): (string | Buffer)[] => ['(', 'type', 'regular', 'contents', contents, ')'];
export const entry = (name: string | Buffer, node: (string | Buffer)[]): (string | Buffer)[] => ['entry', '(', 'name', name, 'node', ...node, ')'];
export const dir = (...entries: (string | Buffer)[][]): (string | Buffer)[] => ['(', 'type', 'directory', ...entries.flat(), ')'];
