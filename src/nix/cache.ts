import type { Readable } from 'node:stream';
import { ConfigError, NotFoundError } from '../errors/index.js';
import { openStore, type OpenStoreOptions } from '../store/open-store.js';
import type { ConsumeView, Store } from '../store/store.js';
import { MAX_NARINFO_BYTES, parseNarInfo, parseNixCacheInfo, type NarInfo } from './narinfo.js';
import { NIX_STORE_DIR, parseStorePath } from './store-path.js';

const NIX_SCHEMES = ['nix+file:', 'nix+https:', 'nix+http:', 'nix+s3:'] as const;
const MAX_CACHE_INFO_BYTES = 64 * 1024;

/** True when `url` names a Nix binary cache: `nix+file://`, `nix+https://`, `nix+http://` or `nix+s3://`. */
export function isNixCacheUrl(url: string): boolean {
  return NIX_SCHEMES.some((s) => url.startsWith(`${s}//`));
}

/** A Nix binary cache opened for reading. Every method fails with the store's FlotillaErrors. */
export interface NixCache {
  /** The cache URL as given (`nix+…`), credentials removed. */
  readonly url: string;
  /** The StoreDir its nix-cache-info declares (always /nix/store: openNixCache refuses others). */
  readonly storeDir: string;
  /**
   * Reads and parses `<hash>.narinfo` of `storePath` (signatures NOT checked: see resolveNixClosure).
   * NotFoundError naming the path when the cache lacks it; IntegrityError when malformed or naming another path.
   */
  readNarInfo(storePath: string, options?: { signal?: AbortSignal }): Promise<NarInfo>;
  /** Streams the (compressed, unverified) NAR file at `info.url`, failing with SizeLimitError past `maxBytes`. */
  openNarFile(info: NarInfo, options: { maxBytes: number; signal?: AbortSignal }): Promise<Readable>;
  /**
   * Reads the NAR file at `info.url`, which must be exactly `size` bytes, into `consume` as views of one
   * reused buffer (store.readInto: plain HTTP); 'unsupported', having consumed nothing, when the store or
   * the response does not allow it (openNarFile then reads it and words any error). Absent when the
   * store has no such reader.
   */
  readNarFileInto?(info: NarInfo, size: number, consume: ConsumeView, options?: { signal?: AbortSignal }): Promise<'done' | 'unsupported'>;
  /**
   * Reads the (compressed, unverified) NAR file at `info.url` into one buffer, refused with SizeLimitError
   * past `maxBytes`: a small NAR, decoded whole anyway (fetch-nar.ts). NotFoundError naming the path when the
   * cache lacks it.
   */
  readNarFileBytes(info: NarInfo, options: { maxBytes: number; signal?: AbortSignal }): Promise<Buffer>;
  /**
   * Where the NAR file at `info.url` lies on this machine, when the cache is a local directory
   * (`nix+file://`): a system decompressor can then read it itself. Absent (or undefined) otherwise.
   */
  narFilePath?(info: NarInfo): string | undefined;
  /** Whether this cache's NAR files lie on this machine (`nix+file://`), so that narFilePath gives each one. */
  narFilesLocal?(): boolean;
  close(): Promise<void>;
}

/** Options of openNixCache: those of openStore (credentials, deadlines' abort signal). */
export type OpenNixCacheOptions = Pick<OpenStoreOptions, 'credentials' | 'signal'>;

/**
 * Opens the Nix binary cache at `url` (`nix+file:///dir`, `nix+https://host/path`, `nix+http://…`,
 * `nix+s3://bucket/prefix?endpoint=…&region=…`) over the matching Flotilla store backend, so deadlines,
 * retries and credentials are those of every other store, and reads its `nix-cache-info`. Throws ConfigError
 * for another scheme or a cache whose StoreDir is not /nix/store; NotFoundError when nix-cache-info is absent.
 */
export async function openNixCache(url: string, options: OpenNixCacheOptions = {}): Promise<NixCache> {
  if (!isNixCacheUrl(url)) {
    throw new ConfigError(`${JSON.stringify(url.slice(0, 200))} is not a Nix cache URL (use nix+file://, nix+https://, nix+http:// or nix+s3://)`, {
      url: url.slice(0, 200),
    });
  }
  const store = openStore(url.slice('nix+'.length), { ...options, writable: false, mustExist: true });
  try {
    return await openOver(store, `nix+${store.url}`);
  } catch (err) {
    await store.close();
    throw err;
  }
}

async function openOver(store: Store, url: string): Promise<NixCache> {
  let text: string;
  try {
    text = (await store.getBytes('nix-cache-info', { maxBytes: MAX_CACHE_INFO_BYTES })).toString('utf8');
  } catch (err) {
    if (!store.isNotFound(err)) throw err;
    throw new NotFoundError(`${url} has no nix-cache-info: it is not a Nix binary cache (nix copy --to writes one)`, { url });
  }
  const info = parseNixCacheInfo(text, url);
  if (info.storeDir !== NIX_STORE_DIR) {
    throw new ConfigError(`Nix cache ${url} holds paths of store ${info.storeDir}; only ${NIX_STORE_DIR} is supported`, { url });
  }
  /** A store's not-found as the NAR of `info` missing from this cache; any other error as it is. */
  const narMissing = (err: unknown, info: NarInfo): unknown =>
    store.isNotFound(err) ? new NotFoundError(`NAR of ${info.storePath} (${info.url}) is missing from Nix cache ${url}`, { storePath: info.storePath, url }) : err;
  const local = store.localPath?.bind(store);
  const readInto = store.readInto?.bind(store);
  return {
    url,
    storeDir: info.storeDir,
    ...(local ? { narFilePath: (nar: NarInfo) => local(nar.url), narFilesLocal: () => true } : {}),
    ...(readInto ? { readNarFileInto: (nar: NarInfo, size: number, consume: ConsumeView, o?: { signal?: AbortSignal }) => readInto(nar.url, size, consume, o) } : {}),
    async readNarInfo(storePath, o = {}) {
      const p = parseStorePath(storePath);
      let bytes: Buffer;
      try {
        bytes = await store.getBytes(`${p.hash}.narinfo`, { maxBytes: MAX_NARINFO_BYTES, ...o });
      } catch (err) {
        if (!store.isNotFound(err)) throw err;
        throw new NotFoundError(`${storePath} is not in Nix cache ${url} (no ${p.hash}.narinfo)`, { storePath, url });
      }
      return parseNarInfo(bytes.toString('utf8'), storePath);
    },
    async openNarFile(info, o) {
      try {
        return await store.get(info.url, o);
      } catch (err) {
        throw narMissing(err, info);
      }
    },
    async readNarFileBytes(info, o) {
      try {
        return await store.getBytes(info.url, o);
      } catch (err) {
        throw narMissing(err, info);
      }
    },
    close: () => store.close(),
  };
}
