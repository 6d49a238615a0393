import { KeyError } from '../errors/index.js';
import {
  formatSha256,
  localFirstCache,
  materialiseNixClosure,
  nixStoreDirUnder,
  openNixCache,
  parseNixPublicKey,
  parseSha256,
  removeDamagedPlacedPaths,
  stageNarInfos,
  resolveNixClosure,
  type DamagedNixPath,
  type MaterialiseOptions,
  type MaterialiseResult,
  type NarInfo,
  type NixCache,
  type NixTrustPolicy,
  type OpenNixCacheOptions,
} from '../nix/index.js';
import type { NixStorePath } from '../store/closure-ref.js';
import { startLater, threadFsOpRunner } from './fs-op-runner.js';
import { directWritesWanted } from '../util/direct-writes.js';
import { earlyWriteback } from '../util/early-writeback.js';
import { FILE_THREAD_FROM, HAND_OVER_FROM, narFileWriters } from './nar-file-writer.js';

/**
 * The trust flotilla.yaml's `nix:` block declares, as src/nix applies it. Throws KeyError for a malformed
 * or repeated key (validation normally catches those first) or when no key is given.
 */
export function nixTrustOf(policy: { trustedKeys: readonly string[]; threshold: number } | undefined): NixTrustPolicy {
  if (!policy || policy.trustedKeys.length === 0) {
    throw new KeyError('no trusted Nix key: add nix: { trustedKeys: ["NAME:BASE64"] } to flotilla.yaml to deploy Nix store paths', {});
  }
  const keys = new Map<string, Buffer>();
  for (const k of policy.trustedKeys) {
    const { name, key } = parseNixPublicKey(k);
    if (keys.has(name)) throw new KeyError(`Nix key name ${name} appears twice among the trusted keys`, { name });
    keys.set(name, key);
  }
  return { keys, threshold: policy.threshold };
}

/** Where a Nix closure comes from: caches in mirror order, how to open them, and whom to trust. */
export interface NixSource {
  urls: readonly string[];
  trust: NixTrustPolicy;
  /** Opens (or hands out an already open) cache; default openNixCache with `options`. */
  open?: (url: string) => Promise<NixCache>;
  options?: OpenNixCacheOptions;
  signal?: AbortSignal;
}

/** A closure read and verified from one cache: its narinfos, dependencies first, the top path last. */
export interface ResolvedNixClosure {
  cache: NixCache;
  /** Whether this call opened `cache` (then the caller closes it with closeResolved). */
  owned: boolean;
  closure: NarInfo[];
  /** The narinfos read from the cache itself in this call (the rest came from those kept under the root). */
  fromCache: readonly NarInfo[];
}

/**
 * Reads the closure of `top` from the first cache (mirror order) that has it whole and signed under the
 * trust policy. Each cache's failure is kept; when none works, throws the first one's error (a
 * SignatureError, IntegrityError or NotFoundError naming the store path), so a tampered first cache is
 * reported as what it is rather than hidden behind a later "not found". With `root`, the narinfos of paths
 * already placed there come from those kept under it (localFirstCache), and a cache is opened only when
 * something must be read from it: a closure placed whole is resolved with no request.
 */
export async function resolveFromCaches(source: NixSource, top: NixStorePath, root?: string): Promise<ResolvedNixClosure> {
  if (source.urls.length === 0) throw new KeyError(`no Nix binary cache is configured to fetch ${top} from`, { storePath: top });
  let first: unknown;
  const open = (url: string): Promise<NixCache> => (source.open ? source.open(url) : openNixCache(url, { ...source.options, ...(source.signal ? { signal: source.signal } : {}) }));
  for (const url of source.urls) {
    const owned = source.open === undefined;
    let cache: NixCache | undefined;
    try {
      const local = root === undefined ? undefined : localFirstCache(url, () => open(url), root, source.trust);
      cache = local ?? (await open(url));
      const closure = await resolveNixClosure(cache, top, source.trust, source.signal ? { signal: source.signal } : {});
      return { cache, owned, closure, fromCache: local?.readRemotely ?? closure };
    } catch (err) {
      first ??= err;
      if (owned) await cache?.close();
    }
  }
  throw first;
}

/** Closes the cache of a resolved closure when resolveFromCaches opened it. */
export async function closeResolved(r: ResolvedNixClosure): Promise<void> {
  if (r.owned) await r.cache.close();
}

/** What fetching a Nix closure did: its narinfos (top last), what was placed or already present, and repaired. */
export interface FetchedNixClosure {
  closure: NarInfo[];
  result: MaterialiseResult;
  /** With `repair`: the placed paths that no longer matched their signed NarHash, removed and fetched again. */
  repaired: DamagedNixPath[];
}

/**
 * Resolves and verifies `top` (resolveFromCaches), then places the paths `<root>/nix/store` lacks
 * (materialiseNixClosure: each NAR hashed and unpacked under a temp name, all renamed only once all
 * verified; `concurrency` NARs at once, default 4 large ones and 16 small ones beside them). Nothing is visible on any failure. With `repair`,
 * paths already placed are first re-hashed against their signed NarHash and the damaged ones removed, so
 * they are fetched again. `onDownload` is awaited once before the first NAR is fetched, only when something
 * must be. The caller keeps two writers of one root apart.
 */
export async function fetchNixClosure(
  source: NixSource,
  top: NixStorePath,
  root: string,
  options: { repair?: boolean; concurrency?: number; onDownload?: MaterialiseOptions['onDownload'] } = {},
): Promise<FetchedNixClosure> {
  // --repair re-reads every narinfo: a damaged path is fetched again at the URL of the cache serving it now.
  const r = await resolveFromCaches(source, top, options.repair === true ? undefined : root);
  try {
    const repaired = options.repair === true ? await removeDamagedPlacedPaths(r.closure, root) : [];
    // The narinfos read from the cache are kept for the next run, under temp names until every path of the
    // closure is placed (a kept narinfo stands for a placed path), flushed with the NARs.
    const kept = await stageNarInfos(root, r.fromCache, source.trust);
    let result: MaterialiseResult;
    // A thread for the small files, started only when a NAR hands one over (nar-file-writer.ts). One: a
    // second was no faster uncompressed and slower from zstd (519 vs 516 ms, 626 vs 709 ms), whose
    // decompressor takes a core of its own.
    const direct = directWritesWanted();
    const thread = startLater(() => threadFsOpRunner(1, direct), true, direct);
    // Every byte written through the page cache, by the thread or by each NAR's sink, flushed in the
    // background as they add up (util/early-writeback.ts): the store's filesystem, which may be a mount of
    // its own under the root (its shell starts at the first flush, when the store exists).
    const writeback = earlyWriteback(nixStoreDirUnder(root));
    try {
      const writers = narFileWriters(thread, HAND_OVER_FROM, writeback);
      result = await materialiseNixClosure(r.cache, r.closure, root, {
        flushWith: kept.temps,
        fileWriter: writers.forNar,
        fileWriterFrom: FILE_THREAD_FROM,
        writeback,
        ...(options.concurrency ? { concurrency: options.concurrency } : {}),
        ...(options.onDownload ? { onDownload: options.onDownload } : {}),
        ...(source.signal ? { signal: source.signal } : {}),
      });
    } catch (err) {
      await kept.discard();
      throw err;
    } finally {
      writeback.close();
      await thread.close();
    }
    await kept.publish(result.fetched.length > 0);
    return { closure: r.closure, result, repaired };
  } finally {
    await closeResolved(r);
  }
}

/** The closure's store paths, the top path first then the rest in path order (as a generation records them). */
export function closurePaths(closure: readonly NarInfo[], top: NixStorePath): NixStorePath[] {
  const rest = closure.map((i) => i.storePath).filter((p) => p !== top).sort();
  return [top, ...(rest as NixStorePath[])];
}

/** Each path's signed NarHash (`sha256:<base-32>`), as a generation records them for `flotilla fsck`. */
export function narHashesOf(closure: readonly NarInfo[]): Record<NixStorePath, string> {
  const out: Record<string, string> = {};
  for (const i of closure) out[i.storePath] = formatSha256(parseSha256(i.narHash, `NarHash of ${i.storePath}`));
  return out;
}
