import type { ConditionalGetResult, GetOptions, Store } from './store.js';

/**
 * `store.getIfChanged` when the store has it; otherwise a HEAD (unchanged: done) and a GET. The fallback's
 * etag comes from the HEAD before the GET, so a write in between is seen again at the next read, never lost.
 * Fails as getBytes does (NotFoundError when the object is absent).
 */
export async function readIfChanged(store: Store, key: string, etag: string | undefined, options: GetOptions & { maxBytes: number }): Promise<ConditionalGetResult> {
  if (store.getIfChanged !== undefined) return store.getIfChanged(key, etag, options);
  const info = await store.head(key, options.signal ? { signal: options.signal } : {});
  if (etag !== undefined && info.etag === etag) return { notModified: true };
  return { notModified: false, bytes: await store.getBytes(key, options), etag: info.etag };
}
