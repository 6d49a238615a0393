import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { digestFromHex, type Digest } from '../store/digest.js';

/** Read size for hashing: node's sha256 is about twice as fast with MiB reads as with the 64 KiB default. */
export const HASH_CHUNK = 4 * 1024 * 1024;

/**
 * Hashes a file; returns its digest, byte count and, when it is at most `keepUpTo` bytes, its bytes.
 * Small files are read whole (one syscall), large ones streamed in HASH_CHUNK reads. Throws fs errors.
 */
export async function hashFile(path: string, size: number, keepUpTo = 0): Promise<{ digest: Digest; size: number; bytes?: Buffer }> {
  if (size <= HASH_CHUNK) {
    const bytes = await readFile(path);
    const digest = digestFromHex(createHash('sha256').update(bytes).digest('hex'));
    return bytes.length <= keepUpTo ? { digest, size: bytes.length, bytes } : { digest, size: bytes.length };
  }
  const h = createHash('sha256');
  let n = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: HASH_CHUNK })) {
    h.update(chunk as Buffer);
    n += (chunk as Buffer).length;
  }
  return { digest: digestFromHex(h.digest('hex')), size: n };
}
