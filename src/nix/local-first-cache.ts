import { lstatSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { NixCache } from './cache.js';
import type { NarInfo } from './narinfo.js';
import { readKeptNarInfo } from './narinfo-cache.js';
import { nixStoreDirUnder } from './root-layout.js';
import type { NixTrustPolicy } from './signatures.js';
import { NIX_STORE_DIR, parseStorePath, storeBaseName } from './store-path.js';

/** A NixCache answering from what a root already holds first; see localFirstCache. */
export interface LocalFirstCache extends NixCache {
  /** The narinfos this run read from the cache itself (not kept ones), in the order read. */
  readonly readRemotely: readonly NarInfo[];
}

/**
 * Whether the path is placed in `storeDir` (a root's, normalised). Synchronous, as is the kept narinfo's
 * read: microseconds each, where each turn through libuv's pool cost ~0.2 ms, for every path of every
 * no-op. The name is appended, not joined: path.join's normalising of the whole path was 3.6 ms of a
 * 301-path no-op, and a store path's base name has no "/" (parseStorePath).
 */
function placed(storeDir: string, storePath: string): boolean {
  try {
    return lstatSync(`${storeDir}/${storeBaseName(parseStorePath(storePath))}`, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

/**
 * The cache at `url`, opened by `open` only when something must be read from it: the narinfo of a path
 * already placed under `root` comes from the one kept there (readKeptNarInfo: re-verified under `trust`;
 * a missing, damaged or no longer trusted one is read from the cache as before). So a closure already
 * placed whole is resolved with no request, and one with a path changed reads only the new paths'
 * narinfos. The caller still verifies every narinfo it is given (resolveNixClosure does). Errors are those
 * of `open` and of the cache's own methods.
 */
export function localFirstCache(url: string, open: () => Promise<NixCache>, root: string, trust: NixTrustPolicy): LocalFirstCache {
  let real: Promise<NixCache> | undefined;
  let opened: NixCache | undefined;
  const remote = (): Promise<NixCache> => (real ??= open().then((c) => (opened = c)));
  const readRemotely: NarInfo[] = [];
  const storeDir = nixStoreDirUnder(root);
  return {
    // Until opened, the URL as configured, userinfo dropped: it only ever appears in messages.
    get url() {
      return opened?.url ?? url.replace(/\/\/[^/@]*@/, '//');
    },
    storeDir: NIX_STORE_DIR,
    readRemotely,
    async readNarInfo(storePath, o = {}) {
      if (placed(storeDir, storePath)) {
        const kept = await readKeptNarInfo(root, storePath, trust);
        if (kept !== undefined) return kept;
      }
      const info = await (await remote()).readNarInfo(storePath, o);
      readRemotely.push(info);
      return info;
    },
    async openNarFile(info, o): Promise<Readable> {
      return (await remote()).openNarFile(info, o);
    },
    async readNarFileBytes(info, o) {
      return (await remote()).readNarFileBytes(info, o);
    },
    async readNarFileInto(info, size, consume, o) {
      const c = await remote();
      return c.readNarFileInto === undefined ? 'unsupported' : c.readNarFileInto(info, size, consume, o);
    },
    // A NAR is fetched only for a path whose narinfo came from the cache, so it is open by then.
    narFilePath: (info) => opened?.narFilePath?.(info),
    narFilesLocal: () => opened?.narFilesLocal?.() === true,
    async close() {
      if (real !== undefined) await (await real.catch(() => undefined))?.close();
    },
  };
}
