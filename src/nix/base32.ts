// Nix's base-32: its own alphabet (no e, o, u, t) and its own bit order. Byte i of the digest feeds the
// *last* characters of the text, so this is not RFC 4648 read either way; see Nix's libutil/hash.cc.
const ALPHABET = '0123456789abcdfghijklmnpqrsvwxyz';
const DIGIT = new Map([...ALPHABET].map((c, i) => [c, i] as const));

/** The length of the base-32 text of `bytes` bytes (32 → 52, 20 → 32). */
export function nixBase32Length(bytes: number): number {
  return Math.ceil((bytes * 8) / 5);
}

/** Encodes bytes in Nix's base-32. */
export function encodeNixBase32(bytes: Uint8Array): string {
  const len = nixBase32Length(bytes.length);
  let out = '';
  for (let n = len - 1; n >= 0; n--) {
    const b = n * 5;
    const i = Math.floor(b / 8);
    const j = b % 8;
    const c = ((bytes[i] ?? 0) >> j) | (i + 1 < bytes.length ? (bytes[i + 1] ?? 0) << (8 - j) : 0);
    out += ALPHABET[c & 0x1f];
  }
  return out;
}

/**
 * Decodes Nix base-32 text of a `size`-byte value, or returns undefined when the text has the wrong length,
 * a character outside the alphabet, or bits set past the value's end (Nix refuses those too).
 */
export function decodeNixBase32(text: string, size: number): Buffer | undefined {
  if (text.length !== nixBase32Length(size)) return undefined;
  const out = Buffer.alloc(size);
  for (let n = 0; n < text.length; n++) {
    const digit = DIGIT.get(text[text.length - n - 1] ?? '');
    if (digit === undefined) return undefined;
    const b = n * 5;
    const i = Math.floor(b / 8);
    const j = b % 8;
    out[i] = (out[i] ?? 0) | ((digit << j) & 0xff);
    const carry = digit >> (8 - j);
    if (i + 1 < size) out[i + 1] = (out[i + 1] ?? 0) | carry;
    else if (carry !== 0) return undefined;
  }
  return out;
}

/** True when every character of `text` is in Nix's base-32 alphabet. */
export function isNixBase32(text: string): boolean {
  for (const c of text) if (!DIGIT.has(c)) return false;
  return true;
}
