// Directory entries whose names are not UTF-8. Node decodes such a name with U+FFFD in place of the bad
// bytes, so the decoded name names no file (lstat says ENOENT): they must be found from the raw bytes.
import { readdir } from 'node:fs/promises';

/** `bytes` as text: printable ASCII as is, backslash and every other byte as `\xNN`. */
export function escapeNameBytes(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return out;
}

/** True when `bytes` is valid UTF-8 (decoding and re-encoding gives the same bytes). */
function isUtf8(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
}

/**
 * The first entry of `dir` whose name is not valid UTF-8, as raw bytes, or undefined. Callers ask only when
 * a decoded name holds U+FFFD, so the common walk never reads a directory twice.
 */
export async function findNonUtf8Name(dir: string): Promise<Buffer | undefined> {
  const names = await readdir(dir, { encoding: 'buffer' });
  return names.find((n) => !isUtf8(n));
}
