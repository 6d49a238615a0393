import { lstatSync, renameSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from '../util/atomic-write.js';
import type { EarlyWriteback } from '../util/early-writeback.js';
import { flushFilesystem } from '../util/flush-filesystem.js';
import { runPool } from '../util/run-pool.js';
import type { NixCache } from './cache.js';
import { fetchNarInto } from './fetch-nar.js';
import { decompressorSourceFor, IN_PROCESS_FILE_MAX } from './decompress.js';
import { prepareXzLane } from './xz-lane.js';
import { loadZstdWasm } from './zstd-stream.js';
import type { NarFileWriter } from './nar-unpack.js';
import type { NarInfo } from './narinfo.js';
import { removeTree } from '../util/remove-tree.js';
import { nixStoreDirUnder } from './root-layout.js';
import { sweepStaleNixTemps } from './stale-temps.js';
import { parseStorePath, storeBaseName } from './store-path.js';
import { nixTempNameFor } from './temp-names.js';

/**
 * Small NARs of one compression from which a fetch readies its shared decoder: zstddec's load (~14 ms) or
 * the `xz` process and its framing (~20 ms, a fork) cost more than fzstd's or lzma-native's decoding of one
 * or two, about a millisecond each (the three-path benchmark's closure has one).
 */
const SHARED_DECODERS_FROM = 4;

/**
 * Small NARs are fetched this many at once, beside the large ones (`concurrency`, default 4): a NAR file of
 * at most IN_PROCESS_FILE_MAX that unpacks to at most SMALL_NAR_MAX, so those in flight hold ~20 MiB at
 * most. Each costs a request's round trip more than its bytes: with 10 ms added to each request, a cold
 * fetch of 301 small paths over HTTP took 1.90–1.94 s with 4 at once (and narinfos 8 at once) against
 * 0.99–1.08 s with these lanes (and 32), `nix copy` 3.9 s (docs/performance.md, session 39). Nix fetches
 * with up to 25 connections.
 */
const SMALL_NAR_LANES = 16;
const SMALL_NAR_MAX = 1024 * 1024;
const LARGE_NAR_LANES = 4;
const isSmallNar = (info: NarInfo): boolean => (info.fileSize ?? info.narSize) <= IN_PROCESS_FILE_MAX && info.narSize <= SMALL_NAR_MAX;

/**
 * Opens once each of `nars` has said it flows or has settled (`pass`; any other NAR is ignored). The small
 * NARs wait on it for the first large NARs of a local cache: such a NAR is set going by several turns of
 * this thread (its file opened, a socket pair for its decompressor, `zstd` and `openssl` spawned), and
 * small NARs started beside it were decoded on this thread in one go meanwhile (fzstd loaded and run, a
 * pipeline of streams): from zstd, one path changed spawned its 50 MB NAR's `zstd` ~30 ms after its
 * narinfos were read, 15–21 ms with this (docs/performance.md, session 40). The small ones then run while
 * the large ones' bytes flow, when this thread waits on them. Not over a network: there a large NAR waits
 * on the network, not on this thread, and small NARs held back would only wait on its round trips.
 */
function largeFirst(nars: readonly NarInfo[]): { pass: (nar: NarInfo) => void; open: Promise<void> } {
  const waiting = new Set(nars);
  let opened = (): void => undefined;
  const open = waiting.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (opened = resolve));
  return {
    pass(nar) {
      if (waiting.delete(nar) && waiting.size === 0) opened();
    },
    open,
  };
}

/** One step of materialiseNixClosure's progress. */
export interface NixProgress {
  storePath: string;
  /** 'fetched': verified and unpacked under a temp name; 'placed': renamed into the store. */
  phase: 'fetched' | 'placed';
  narBytes: number;
}

/** Options of materialiseNixClosure. */
export interface MaterialiseOptions {
  signal?: AbortSignal;
  onProgress?: (p: NixProgress) => void;
  /** NARs fetched at once, all of them; default: 4 large ones, and SMALL_NAR_LANES small ones beside them. */
  concurrency?: number;
  /** Files of the caller's, already written, to make durable with the NARs (one flush covers both). */
  flushWith?: readonly string[];
  /** A writer of small files off this thread for each NAR (nar-unpack.ts); without it they are written here. */
  fileWriter?: () => NarFileWriter;
  /** The NAR bytes to fetch from which `fileWriter` is used (default 0: always); below, every file is written here. */
  fileWriterFrom?: number;
  /** The fetch's early writeback, whose shell runs the flush before the renames when it can (flush-filesystem.ts). */
  writeback?: Pick<EarlyWriteback, 'flushFor'>;
  /** Awaited once before the first NAR is fetched, only when the root lacks a path (never for a closure in place). */
  onDownload?: () => void | Promise<void>;
}

/** What materialiseNixClosure did. */
export interface MaterialiseResult {
  /** Paths fetched and placed, dependencies first. */
  fetched: string[];
  /** Paths already under the root (left untouched). */
  present: string[];
  narBytes: number;
  fileBytes: number;
}

// The store's names are looked at and renamed on this thread, synchronously: one path after another (the
// renames dependencies first), where each turn through libuv's pool cost ~0.2 ms on top of the call. A
// closure of 301 small paths spent 32 ms looking and 135 ms renaming so, a few and 78 ms now (session 26).

/** Whether `path` exists (not following a symlink); other errors than its absence are thrown. */
function exists(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}

/**
 * Places the paths of `closure` (from resolveNixClosure: verified narinfos, dependencies first) that
 * `<root>/nix/store` lacks. Every missing NAR is fetched, hashed and unpacked under a temp name in that
 * directory first; only when all of them verified is the filesystem flushed and each renamed into place,
 * dependencies first, then the directory fsynced (`flushWith` is flushed with them: the filesystem flush
 * only runs when something was fetched). A path already there is never touched (listed in
 * `present`). On any failure every temp is removed and nothing new is visible; the error (IntegrityError,
 * SizeLimitError, NotFoundError, a store error) names the store path. Temps under `root` left by killed
 * writers are removed before anything is fetched (sweepStaleNixTemps; not by a fetch that places nothing); those of live writers are not, so two fetches may share
 * a root, the caller keeping two writers of one path apart.
 */
export async function materialiseNixClosure(cache: NixCache, closure: readonly NarInfo[], root: string, options: MaterialiseOptions = {}): Promise<MaterialiseResult> {
  const storeDir = nixStoreDirUnder(root);
  await mkdir(storeDir, { recursive: true });
  const present: string[] = [];
  const missing: { info: NarInfo; final: string; temp: string }[] = [];
  for (const info of closure) {
    const final = join(storeDir, storeBaseName(parseStorePath(info.storePath)));
    if (exists(final)) present.push(info.storePath);
    else missing.push({ info, final, temp: nixTempNameFor(final) });
  }
  const result: MaterialiseResult = { fetched: [], present, narBytes: 0, fileBytes: 0 };
  if (missing.length === 0) return result;
  await options.onDownload?.();
  // A fetch killed earlier (SIGKILL, power loss) could not remove its temps: whole NARs would stay forever.
  // Swept only by a fetch that writes: a no-op stays one lstat per path, not a listing of a store that may
  // hold tens of thousands of entries (~27 ms at 20,000); the temps wait harmlessly until then.
  await sweepStaleNixTemps(root);
  // The shared decoders of small NARs, for a closure of several, made ready before they start: zstddec
  // (zstd-stream.ts; loaded by the fourth of them instead it took 0.7 s, its module's reads queued behind
  // theirs on libuv's pool, and half the NARs went through fzstd meanwhile) and the one `xz` process
  // (xz-lane.ts), rather than lzma-native.
  const small = (c: string): number => missing.filter(({ info }) => info.compression === c && decompressorSourceFor(info) === 'library').length;
  if (small('zstd') >= SHARED_DECODERS_FROM) await loadZstdWasm();
  if (small('xz') >= SHARED_DECODERS_FROM) await prepareXzLane();
  const written: string[] = [];
  try {
    // Large and small NARs in two pools; a failure in either stops both from starting more, and is thrown
    // once every fetch running settled (the caller then removes every temp).
    let failed: { err: unknown } | undefined;
    const large = missing.filter(({ info }) => !isSmallNar(info));
    const small = missing.filter(({ info }) => isSmallNar(info));
    // The first large NARs of a local cache set going before any small one (largeFirst); not when
    // `concurrency` bounds all.
    const firstLarge = options.concurrency === undefined ? large.slice(0, LARGE_NAR_LANES).map(({ info }) => info) : [];
    const gate = largeFirst(cache.narFilesLocal?.() === true ? firstLarge : []);
    const fileWriter = missing.reduce((n, { info }) => n + info.narSize, 0) >= (options.fileWriterFrom ?? 0) ? options.fileWriter : undefined;
    const fetchOne = async ({ info, temp }: (typeof missing)[number]): Promise<void> => {
      try {
        if (failed !== undefined) return;
        options.signal?.throwIfAborted();
        const writer = fileWriter?.();
        const n = await fetchNarInto(cache, info, temp, { ...(options.signal ? { signal: options.signal } : {}), ...(writer ? { writer } : {}), onFlowing: () => gate.pass(info) });
        result.narBytes += n.narBytes;
        result.fileBytes += n.fileBytes;
        written.push(...n.files);
        options.onProgress?.({ storePath: info.storePath, phase: 'fetched', narBytes: n.narBytes });
      } catch (err) {
        failed ??= { err };
      } finally {
        gate.pass(info);
      }
    };
    // `concurrency` given bounds every NAR at once (a cache that should see no more); else the defaults.
    await (options.concurrency !== undefined
      ? runPool(missing, options.concurrency, fetchOne)
      : Promise.all([runPool(large, LARGE_NAR_LANES, fetchOne), gate.open.then(() => runPool(small, SMALL_NAR_LANES, fetchOne))]));
    if (failed !== undefined) throw failed.err;
    await flushFilesystem(storeDir, [...written, ...(options.flushWith ?? [])], undefined, options.writeback);
    for (const { info, final, temp } of missing) {
      // rename(2) would replace a file silently: a path that appeared meanwhile (another writer) is kept.
      if (exists(final)) {
        await removeTree(temp);
        present.push(info.storePath);
        continue;
      }
      renameSync(temp, final);
      result.fetched.push(info.storePath);
      options.onProgress?.({ storePath: info.storePath, phase: 'placed', narBytes: info.narSize });
    }
    await fsyncDir(storeDir);
  } catch (err) {
    await Promise.all(missing.map(({ temp }) => removeTree(temp)));
    throw err;
  }
  return result;
}
