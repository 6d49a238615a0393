import { NotFoundError } from '../errors/index.js';
import { readIfChanged } from './conditional-get.js';
import type { ConsumeView, Store, StoreCapabilities } from './store.js';

/**
 * A Store whose backend module is loaded on first use. The S3 SDK alone costs ~25 MB of memory once
 * imported; an agent or a CLI call that only ever touches a directory store should not pay for it.
 * Errors of `load` (a missing module) surface from the first operation. `readInto` says whether the
 * backend has that method, known before it is loaded (request counts wrap what is defined).
 */
export function lazyStore(url: string, capabilities: StoreCapabilities, load: () => Promise<Store>, has: { readInto?: boolean } = {}): Store {
  let backend: Promise<Store> | undefined;
  const get = (): Promise<Store> => (backend ??= load());
  return {
    url,
    capabilities,
    get: async (key, options) => (await get()).get(key, options),
    getBytes: async (key, options) => (await get()).getBytes(key, options),
    getIfChanged: async (key, etag, options) => readIfChanged(await get(), key, etag, options),
    put: async (key, body, options) => (await get()).put(key, body, options),
    head: async (key, options) => (await get()).head(key, options),
    list: async (prefix, options) => (await get()).list(prefix, options),
    delete: async (key, options) => (await get()).delete(key, options),
    // Every backend maps "no such object" to NotFoundError (store.ts), so no backend is needed to judge.
    isNotFound: (err) => err instanceof NotFoundError,
    ...(has.readInto === true
      ? {
          readInto: async (key: string, size: number, consume: ConsumeView, options?: { signal?: AbortSignal }) => {
            const b = await get();
            return b.readInto === undefined ? 'unsupported' : b.readInto(key, size, consume, options);
          },
        }
      : {}),
    close: async () => {
      if (backend !== undefined) await (await backend).close();
    },
  };
}
