import { statSync } from 'node:fs';
import { ConfigError } from '../errors/index.js';
import { createFsStore } from './fs-store.js';
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
  /**
   * For reading verbs: a directory store whose directory does not exist is a ConfigError at once, instead
   * of an empty store (a mistyped path would otherwise list nothing and find nothing).
   */
  mustExist?: boolean;
  /** Aborts every request of the store at once (the CLI passes the signal of SIGTERM and SIGINT). */
  signal?: AbortSignal;
}

function checkStoreDir(root: string, display: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    throw new ConfigError(`store ${display} does not exist (flotilla push --store ${display} creates it)`, { url: display, path: root });
  }
  if (!isDir) throw new ConfigError(`store ${display} is not a directory`, { url: display, path: root });
}

/**
 * Opens the store a URL names: a plain path or `file://` → directory store; `s3://bucket/prefix?endpoint=…
 * &region=…&forcePathStyle=true` → S3 (credentials from the standard AWS chain); `http(s)://` → HTTP store,
 * read-only unless `options.writable` or `?writable=1`. S3 and HTTP take their deadlines from the query
 * (see parseStoreUrl). Nothing is contacted until the first operation. Throws ConfigError naming the URL
 * (credentials removed) when it cannot be parsed, or with `mustExist` when a directory store is missing.
 */
export function openStore(url: string, options: OpenStoreOptions = {}): Store {
  const loc = parseStoreUrl(url);
  const signal = options.signal ? { signal: options.signal } : {};
  switch (loc.kind) {
    case 'fs':
      if (options.mustExist === true) checkStoreDir(loc.root, loc.display);
      return createFsStore(loc.root, options.writable === undefined ? {} : { writable: options.writable });
    case 's3': {
      const writable = options.writable ?? true;
      return lazyStore(loc.display, { write: writable, list: true, conditionalWrites: 'probe' }, async () =>
        (await import('./s3-store.js')).createS3Store({
          bucket: loc.bucket,
          prefix: loc.prefix,
          forcePathStyle: loc.forcePathStyle,
          url: loc.display,
          writable,
          deadlines: loc.deadlines,
          ...signal,
          ...(loc.endpoint !== undefined ? { endpoint: loc.endpoint } : {}),
          ...(loc.region !== undefined ? { region: loc.region } : {}),
          ...(options.credentials?.kind === 's3' ? { credentials: options.credentials } : {}),
        }),
      );
    }
    case 'http': {
      // Loaded on the first request: node:http and its streams cost a one-shot process ~10 ms to load, which a
      // fetch that finds everything in place (fetch/present-closure.ts) never needs. The capabilities are
      // http-store.ts's own.
      const writable = options.writable ?? loc.writable;
      return lazyStore(loc.display, { write: writable, list: false, conditionalWrites: 'none' }, async () =>
        (await import('./http-store.js')).createHttpStore({
          base: loc.base,
          url: loc.display,
          writable,
          deadlines: loc.deadlines,
          allowRedirectTo: loc.allowRedirectTo,
          ...signal,
          ...(options.credentials?.kind === 'bearer' || options.credentials?.kind === 'basic' ? { credentials: options.credentials } : {}),
        }),
        // Plain HTTP reads packs through a buffer of its own (http-read-into.ts); TLS through the general client.
        { readInto: loc.base.startsWith('http:') },
      );
    }
  }
}
