import { createFsStore } from './fs-store.js';
import { createHttpStore } from './http-store.js';
import { lazyStore } from './lazy-store.js';
import { parseStoreUrl } from './store-url.js';
import type { Store } from './store.js';

/**
 * Credentials for one store, given apart from its URL so they never show up in messages or logs.
 * S3 takes keys (default: the standard AWS chain); HTTP takes a bearer token or a user and password.
 */
export type StoreCredentials =
  | { kind: 's3'; accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  | { kind: 'bearer'; token: string }
  | { kind: 'basic'; username: string; password: string };

/** How to open a store. */
export interface OpenStoreOptions {
  /** Directory and S3 stores are writable unless this is false; HTTP stores only when true (or `?writable=1`). */
  writable?: boolean;
  credentials?: StoreCredentials;
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
    case 's3': {
      const writable = options.writable ?? true;
      return lazyStore(loc.display, { write: writable, conditionalWrites: true }, async () =>
        (await import('./s3-store.js')).createS3Store({
          bucket: loc.bucket,
          prefix: loc.prefix,
          forcePathStyle: loc.forcePathStyle,
          url: loc.display,
          writable,
          ...(loc.endpoint !== undefined ? { endpoint: loc.endpoint } : {}),
          ...(loc.region !== undefined ? { region: loc.region } : {}),
          ...(options.credentials?.kind === 's3' ? { credentials: options.credentials } : {}),
        }),
      );
    }
    case 'http':
      return createHttpStore({
        base: loc.base,
        url: loc.display,
        writable: options.writable ?? loc.writable,
        ...(options.credentials?.kind === 'bearer' || options.credentials?.kind === 'basic' ? { credentials: options.credentials } : {}),
      });
  }
}
