import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { digestFromHex, type Digest } from '../store/digest.js';

/** Read size for hashing: large reads keep node's sha256 near its peak (64 KiB reads halve it). */
const CHUNK = 1024 * 1024;
const spare: Buffer[] = [];

/**
 * Hashes a local file with sha256, reading at most `limit` + 1 bytes (one reused 1 MiB buffer per caller
 * in flight, so hashing many files allocates almost nothing). Returns the bytes read, capped at limit + 1
 * (more than `limit` means the file is too big), and the digest of what was read.
 */
export async function hashFile(path: string, limit: number): Promise<{ bytes: number; digest: Digest }> {
  const buf = spare.pop() ?? Buffer.allocUnsafe(CHUNK);
  const fh = await open(path, 'r');
  try {
    const h = createHash('sha256');
    let bytes = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, limit + 1 - bytes), null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      bytes += bytesRead;
      if (bytes > limit) break;
    }
    return { bytes, digest: digestFromHex(h.digest('hex')) };
  } finally {
    await fh.close();
    spare.push(buf);
  }
}
