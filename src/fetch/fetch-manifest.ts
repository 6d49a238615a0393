import { readFile, rm, stat } from 'node:fs/promises';
import { FlotillaError, IntegrityError, NotFoundError, SizeLimitError, TransportError } from '../errors/index.js';
import type { Digest } from '../store/digest.js';
import { objectKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { hashBytes } from '../packages/manifest-codec.js';
import type { ObjectCache } from './object-cache.js';

/**
 * Reads the exact bytes of manifest `digest` (unparsed): from the local cache when present (re-hashed; a bad
 * copy is deleted), else from `stores` in order, each capped at `maxBytes` and hash-checked. Nothing is
 * written: the caller caches manifests only once the whole closure parsed (see `cacheManifests`). Throws NotFoundError / IntegrityError / SizeLimitError (over the cap) / TransportError
 * naming the manifest and each store's reason.
 */
export async function fetchManifestBytes(stores: Store[], digest: Digest, maxBytes: number, cache?: ObjectCache, signal?: AbortSignal): Promise<{ bytes: Buffer; cached: boolean }> {
  if (cache) {
    const local = cache.path(digest);
    try {
      const st = await stat(local);
      if (st.size <= maxBytes) {
        const bytes = await readFile(local);
        if (hashBytes(bytes) === digest) return { bytes, cached: true };
      }
      await rm(local, { force: true });
    } catch {
      // not cached
    }
  }
  const reasons: Array<{ store: string; code: string; message: string }> = [];
  for (const store of stores) {
    try {
      const bytes = await store.getBytes(objectKey(digest), signal ? { maxBytes, signal } : { maxBytes });
      const actual = hashBytes(bytes);
      if (actual !== digest) throw new IntegrityError(`manifest ${digest}: bytes hash to ${actual}`, { object: digest, actual });
      return { bytes, cached: false };
    } catch (err) {
      if (signal?.aborted) throw err;
      const code = store.isNotFound(err) ? 'NotFoundError' : err instanceof FlotillaError ? err.code : 'TransportError';
      reasons.push({ store: store.url, code, message: err instanceof Error ? err.message : String(err) });
    }
  }
  const message = `manifest ${digest} could not be read: ${reasons.map((r) => `${r.store}: ${r.code}: ${r.message}`).join('; ')}`;
  const data = { object: digest, stores: reasons };
  if (reasons.every((r) => r.code === 'NotFoundError')) throw new NotFoundError(message, data);
  if (reasons.some((r) => r.code === 'IntegrityError')) throw new IntegrityError(message, data);
  if (reasons.some((r) => r.code === 'SizeLimitError')) throw new SizeLimitError(message, data);
  throw new TransportError(message, data);
}
