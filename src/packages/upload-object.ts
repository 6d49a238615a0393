import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { UnsafePathError } from '../errors/index.js';
import { digestFromHex, type Digest } from '../store/digest.js';
import { objectKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { HASH_CHUNK } from './hash-file.js';

/**
 * Uploads one file as the object named `digest` unless the store already has it (HEAD first). The bytes are
 * re-hashed on the way out; if the file changed since it was hashed, the object is deleted again and an
 * UnsafePathError names the file. Returns whether it uploaded and how many bytes.
 */
export async function uploadObjectIfMissing(store: Store, source: string, digest: Digest, size: number, signal?: AbortSignal): Promise<{ uploaded: boolean; bytes: number }> {
  const key = objectKey(digest);
  try {
    const info = await store.head(key, signal ? { signal } : {});
    if (info.size === size) return { uploaded: false, bytes: 0 };
  } catch (err) {
    if (!store.isNotFound(err)) throw err;
  }
  const h = createHash('sha256');
  let n = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
      h.update(chunk);
      n += chunk.length;
      done(null, chunk);
    },
  });
  const body = createReadStream(source, { highWaterMark: HASH_CHUNK }).pipe(tap);
  await store.put(key, body, signal ? { contentLength: size, signal } : { contentLength: size });
  const actual = digestFromHex(h.digest('hex'));
  if (actual !== digest || n !== size) {
    await store.delete(key);
    throw new UnsafePathError(`${source} changed while it was being pushed (expected ${digest}, ${size} bytes)`, { path: source });
  }
  return { uploaded: true, bytes: n };
}
