import { createReadStream } from 'node:fs';
import type { Store } from '../../src/store/store.js';
import { seconds } from './stats.js';

/** One object of a benchmark case: its key, the file holding its bytes, and the bytes when small. */
export interface BenchObject {
  key: string;
  path: string;
  size: number;
  /** In memory for small objects (put as a Buffer); absent for large ones (put as a file stream). */
  bytes?: Buffer;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function runPool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let it = queue.shift(); it !== undefined; it = queue.shift()) await fn(it);
  });
  await Promise.all(workers);
}

/** Reads an object to the end without keeping it; returns its length. */
async function drain(store: Store, key: string): Promise<number> {
  let n = 0;
  for await (const chunk of await store.get(key)) n += (chunk as Buffer).length;
  return n;
}

/**
 * Seconds to put every object (`parallel` in flight; large ones streamed from their file), then seconds to
 * get them all back (streamed and counted). Throws when a read returns the wrong length.
 */
export async function timeStore(store: Store, objects: BenchObject[], parallel = 16): Promise<{ put: number; get: number }> {
  const put = await seconds(() =>
    runPool(objects, parallel, async (o) => {
      await store.put(o.key, o.bytes ?? createReadStream(o.path, { highWaterMark: 1 << 20 }), { contentLength: o.size });
    }),
  );
  const get = await seconds(() =>
    runPool(objects, parallel, async (o) => {
      const n = await drain(store, o.key);
      if (n !== o.size) throw new Error(`${o.key}: got ${n} bytes, wrote ${o.size}`);
    }),
  );
  return { put, get };
}
