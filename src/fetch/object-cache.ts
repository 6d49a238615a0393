import { readdirSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { inlineFsOpRunner, type FsOpRunner } from './fs-op-runner.js';
import { digestHex, type Digest } from '../store/digest.js';
import { isPidAlive } from '../util/pid-alive.js';
import { objectsDir, objectsTempDir, objectTempOwner } from '../generations/layout.js';
import { objectCacheAt } from './manifest-cache.js';

/**
 * The verified local object cache under a state dir (names from generations/layout.ts):
 *   objects/sha256/ab/<hex>     verified bytes, mode 0444 (file contents and manifests)
 *   objects/sha256/ab/<hex>.x   the same bytes, mode 0555, for executable entries (one inode has one mode)
 *   objects/tmp/<pid>-<tag>-<n> downloads in flight that have no home in a package tree (object-homes.ts);
 *                               renamed in only after their hash matched (a home is linked in instead)
 *   objects/sig/ab/<hex>.<key>        a manifest's signature that verified, re-verified on every use
 * (manifests and signatures are read and written by manifest-cache.ts, which a no-op fetch loads alone).
 * Only verified bytes ever get a final name; the cache is trusted by size on later runs (we wrote it).
 */
export interface ObjectCache {
  stateDir: string;
  tmpDir: string;
  /** Path of a verified object (plain or executable variant). */
  path(digest: Digest, executable?: boolean): string;
  /**
   * Where to write a new copy of an object before it verifies: a fresh temp path in tmpDir; or, in a
   * fetch's view of the cache (object-homes.ts) and given the `digest` of a first-seen object, its home in
   * a package tree being built.
   */
  tempPath(digest?: Digest): string;
}

/** Opens (creating if needed) the cache under `stateDir` and removes temp files left by dead processes. */
export async function openObjectCache(stateDir: string): Promise<ObjectCache> {
  const tmpDir = objectsTempDir(stateDir);
  await mkdir(tmpDir, { recursive: true });
  await removeStaleTemps(tmpDir);
  return objectCacheAt(stateDir);
}

async function removeStaleTemps(tmpDir: string): Promise<void> {
  for (const n of await readdir(tmpDir)) {
    const pid = objectTempOwner(n);
    if (!Number.isInteger(pid) || !isPidAlive(pid)) await rm(join(tmpDir, n), { force: true, recursive: true });
  }
}

/** Small synchronous steps on the calling thread (the stats of missingObjects): one runner per process. */
const localSteps = inlineFsOpRunner();

function listShards(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Stats per synchronous slice: a few milliseconds of the event loop at most. */
const STAT_SLICE = 1024;

/**
 * The items the cache lacks (no regular file of that name and exact size), in no particular order. One
 * readdir tells which shard directories exist (in a new cache, almost none); each name in an existing
 * shard is stat'ed synchronously, in slices between which the event loop runs: thousands of stats cost
 * milliseconds, not a promise each. The readdir is synchronous too: at most 256 names, tens of
 * microseconds, where libuv's pool may keep it queued behind the closure's cache writes for several ms.
 */
export async function missingObjects<T extends { digest: Digest; size: number }>(cache: ObjectCache, items: readonly T[], executable = false): Promise<T[]> {
  if (items.length === 0) return [];
  const shards = new Set(listShards(objectsDir(cache.stateDir)));
  const missing: T[] = [];
  const candidates: T[] = [];
  // An item whose shard directory does not exist is missing without a stat.
  for (const it of items) (shards.has(digestHex(it.digest).slice(0, 2)) ? candidates : missing).push(it);
  for (let i = 0; i < candidates.length; i += STAT_SLICE) {
    if (i > 0) await new Promise((res) => setImmediate(res));
    const slice = candidates.slice(i, i + STAT_SLICE);
    const results = await localSteps.run(slice.map((it) => ({ op: 'size', path: cache.path(it.digest, executable) })), true);
    slice.forEach((it, k) => {
      const r = results[k];
      if (r?.ok !== true || r.bytes !== it.size) missing.push(it);
    });
  }
  return missing;
}

/**
 * Makes the shard directories of `items`' cache names that do not exist yet, spread over `fsOps`'s
 * threads. Never fails: a shard made meanwhile (EEXIST) or not at all is made again, as needed, when an
 * object gets its cache name.
 */
export async function makeShards(cache: ObjectCache, items: ReadonlyArray<{ digest: Digest }>, fsOps: FsOpRunner): Promise<void> {
  const dir = objectsDir(cache.stateDir);
  const have = new Set(listShards(dir).map((s) => join(dir, s)));
  const need = [...new Set(items.map((it) => dirname(cache.path(it.digest))))].filter((d) => !have.has(d));
  if (need.length > 0) await fsOps.runSpread(need.map((path) => ({ op: 'mkdir', path, mode: 0o777 }))).catch(() => undefined);
}
