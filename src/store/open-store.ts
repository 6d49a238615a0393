import { UnsupportedOperationError } from '../errors/index.js';
import { createFsStore } from './fs-store.js';
import { parseStoreUrl } from './store-url.js';
import type { Store } from './store.js';

/** How to open a store. */
export interface OpenStoreOptions {
  /** Directory and S3 stores are writable unless this is false; HTTP stores only when true (or `?writable=1`). */
  writable?: boolean;
}

/**
 * Opens the store a URL names: a plain path or `file://` → directory store; `s3://bucket/prefix?endpoint=…
 * &region=…&forcePathStyle=true` → S3 (credentials from the standard AWS chain); `http(s)://` → HTTP store,
 * read-only unless `options.writable` or `?writable=1`. Nothing is contacted until the first operation.
 * Throws ConfigError naming the URL (credentials removed) when it cannot be parsed.
 */
export function openStore(url: string, options: OpenStoreOptions = {}): Store {
  const loc = parseStoreUrl(url);
  switch (loc.kind) {
    case 'fs':
      return createFsStore(loc.root, options.writable === undefined ? {} : { writable: options.writable });
    default:
      throw new UnsupportedOperationError(`store URL ${loc.display}: the ${loc.kind} backend is not built yet`, {
        url: loc.display,
      });
  }
}
