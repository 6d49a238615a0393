import { lstat, mkdir } from 'node:fs/promises';
import { IntegrityError } from '../errors/index.js';
import { hashBytes } from '../packages/manifest-codec.js';
import { join } from 'node:path';
import type { Digest } from '../store/digest.js';
import type { Store } from '../store/store.js';
import type { ManifestLimits } from '../packages/limits.js';
import type { LoadedManifest } from '../packages/manifest-types.js';
import { runPool } from '../packages/run-pool.js';
import type { PolicyVerdict, PublisherPolicy } from '../trust/manifest-policy.js';
import { countRequests, type RequestCounter } from './counting-store.js';
import { fetchObject } from './fetch-object.js';
import { packageDirName, preparePackage, publishPackages, removeStalePartials, removeTree, type PreparedPackage } from './materialise-package.js';
import { missingObjects, openObjectCache, type ObjectCache } from './object-cache.js';
import { inlineFsOpRunner, threadFsOpRunner, throwIfFailed, type FsOpRunner } from './fs-op-runner.js';
import { createBatchCommitter } from './batch-commit.js';
import { readClosureManifests } from './read-closure.js';

/** Progress of a fetch, reported after each object and phase change. */
export interface FetchProgress {
  phase: 'manifests' | 'objects' | 'materialise' | 'done';
  bytesDone: number;
  bytesTotal: number;
  objectsDone: number;
  objectsTotal: number;
}

export interface FetchClosureOptions {
  /** Mirrors, tried in order for every object. */
  stores: Store[];
  digest: Digest | string;
  policy: PublisherPolicy;
  stateDir: string;
  signal?: AbortSignal;
  /** Parallel object downloads (default 16: hides S3 latency without flooding a small disk). */
  concurrency?: number;
  onProgress?: (p: FetchProgress) => void;
  limits?: Partial<ManifestLimits>;
  /** Deadline per object and store attempt (default 60 s + 1 s per 256 KiB). */
  objectTimeoutMs?: number;
  /** Flush objects and package directories to disk before they get final names (default true). */
  durable?: boolean;
  /**
   * Worker threads for local copying, hashing and materialising: by default one per core (at most 4) for
   * a closure of 64 MiB or 4,096 files, none below; 0 keeps all of it on the calling thread.
   */
  fsThreads?: number;
}

export interface FetchedPackage {
  digest: Digest;
  name: string;
  path: string;
}

export interface FetchClosureResult {
  packages: FetchedPackage[];
  bytesFetched: number;
  objectsFetched: number;
  requests: number;
  verdict?: PolicyVerdict;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

interface Wanted {
  digest: Digest;
  size: number;
  /** Inline bytes (already hashed against the digest); absent for objects fetched from a store. */
  bytes?: Buffer;
}

/**
 * Lists what the cache lacks for the packages to materialise: store objects to fetch and inline files to
 * write (each inline file hashed first: a mismatch refuses the closure before anything is written), plus
 * the executable (0555) variants the cache lacks.
 */
async function planObjects(cache: ObjectCache, todo: LoadedManifest[]): Promise<{ wanted: Wanted[]; execs: Wanted[] }> {
  const wanted = new Map<Digest, Wanted>();
  const execs = new Map<Digest, Wanted>();
  for (const p of todo) {
    for (const e of p.manifest.entries) {
      if (e.type !== 'file') continue;
      if (!wanted.has(e.digest)) wanted.set(e.digest, e.data === undefined ? { digest: e.digest, size: e.size } : { digest: e.digest, size: e.size, bytes: Buffer.from(e.data, 'base64') });
      if (e.executable) execs.set(e.digest, { digest: e.digest, size: e.size });
    }
  }
  for (const w of wanted.values()) {
    if (w.bytes === undefined) continue;
    const actual = hashBytes(w.bytes);
    if (actual !== w.digest) throw new IntegrityError(`inline data for ${w.digest} hashes to ${actual}`, { object: w.digest, actual });
  }
  return { wanted: await missingObjects(cache, [...wanted.values()]), execs: await missingObjects(cache, [...execs.values()], true) };
}

/** Local work from which worker threads pay for their start (about 30 ms): 64 MiB or 4,096 files. */
const THREADS_FROM_BYTES = 64 * 1024 * 1024;
const THREADS_FROM_FILES = 4096;

/** Threads for big closures (or as told by `fsThreads`; 0 keeps everything on the calling thread). */
function chooseFsOpRunner(fsThreads: number | undefined, bytes: number, todo: readonly LoadedManifest[]): FsOpRunner {
  if (fsThreads !== undefined) return fsThreads > 0 ? threadFsOpRunner(fsThreads) : inlineFsOpRunner();
  const files = todo.reduce((a, p) => a + p.manifest.entries.length, 0);
  return bytes >= THREADS_FROM_BYTES || files >= THREADS_FROM_FILES ? threadFsOpRunner() : inlineFsOpRunner();
}

/**
 * Fetches the missing objects into the cache: inline files, store objects (mirrors in order) and executable
 * twins share one pool, so local writes overlap network waits. What verified is committed even when
 * something else failed (a retry resumes), unless flushing itself is what failed.
 */
async function placeObjects(options: FetchClosureOptions, stores: Store[], cache: ObjectCache, fsOps: FsOpRunner, progress: FetchProgress, wanted: Wanted[], execs: Wanted[], durable: boolean): Promise<void> {
  const committer = createBatchCommitter(cache, durable, fsOps);
  const needX = new Set(execs.map((w) => w.digest));
  // A verified temp goes to the committer, with a 0555 copy when an executable entry needs one.
  const commit = async (tmp: string, d: Digest, size: number): Promise<void> => {
    if (needX.has(d)) {
      const x = cache.tempPath();
      throwIfFailed(await fsOps.run([{ op: 'copy', src: tmp, dest: x }]));
      await committer.add(x, d, size, true);
    }
    await committer.add(tmp, d, size);
  };
  const fresh = new Set(wanted.map((w) => w.digest));
  const jobs: Array<Wanted & { onlyX?: boolean }> = [...wanted, ...execs.filter((w) => !fresh.has(w.digest)).map((w) => ({ ...w, onlyX: true }))];
  try {
    await runPool(jobs, options.concurrency ?? 16, async (w) => {
      if (w.onlyX === true) {
        const x = cache.tempPath();
        throwIfFailed(await fsOps.run([{ op: 'copy', src: cache.path(w.digest), dest: x }]));
        await committer.add(x, w.digest, w.size, true);
        return;
      }
      if (w.bytes !== undefined) {
        const tmp = cache.tempPath();
        throwIfFailed(await fsOps.run([{ op: 'write', dest: tmp, data: w.bytes }]));
        await commit(tmp, w.digest, w.size);
        return;
      }
      await fetchObject(stores, cache, w.digest, w.size, {
        commit,
        fsOps,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.objectTimeoutMs ? { timeoutMs: options.objectTimeoutMs } : {}),
        onBytes: (n) => {
          progress.bytesDone += n;
        },
      });
      progress.objectsDone += 1;
      options.onProgress?.({ ...progress });
    });
  } catch (err) {
    await committer.finish().catch(() => committer.discard());
    throw err;
  }
  await committer.finish();
}

/**
 * Fetches the closure of `digest` into stateDir and materialises each package read-only at
 * stateDir/store/<hex>-<name>/. Order: root manifest bytes → policy (signatures, deployable flag) → parse
 * every manifest of the closure → fetch missing objects (bounded parallelism, mirrors in order, each hashed
 * while streaming) → materialise. Nothing is materialised unless every object verified; already
 * materialised packages are reused. Throws InvalidDigestError, SignatureError, PolicyError, ManifestError,
 * SizeLimitError, IntegrityError / NotFoundError / TransportError naming the object and each store's reason.
 */
export async function fetchClosure(options: FetchClosureOptions): Promise<FetchClosureResult> {
  const counter: RequestCounter = { requests: 0 };
  const stores = options.stores.map((s) => countRequests(s, counter));
  const durable = options.durable ?? true;
  const storeDir = join(options.stateDir, 'store');
  await mkdir(storeDir, { recursive: true });
  const cache = await openObjectCache(options.stateDir);
  await removeStalePartials(storeDir);
  const progress: FetchProgress = { phase: 'manifests', bytesDone: 0, bytesTotal: 0, objectsDone: 0, objectsTotal: 0 };
  options.onProgress?.({ ...progress });
  const closure = await readClosureManifests(stores, options.digest, {
    policy: options.policy,
    cache,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const todo: LoadedManifest[] = [];
  for (const p of closure.packages) if (!(await isDir(join(storeDir, packageDirName(p))))) todo.push(p);
  const { wanted, execs } = await planObjects(cache, todo);
  const remote = wanted.filter((w) => w.bytes === undefined);
  progress.phase = 'objects';
  progress.objectsTotal = remote.length;
  progress.bytesTotal = remote.reduce((a, w) => a + w.size, 0);
  options.onProgress?.({ ...progress });
  const fsOps = chooseFsOpRunner(options.fsThreads, progress.bytesTotal, todo);
  let paths: string[];
  try {
    await placeObjects(options, stores, cache, fsOps, progress, wanted, execs, durable);
    progress.phase = 'materialise';
    options.onProgress?.({ ...progress });
    const prepared: PreparedPackage[] = [];
    try {
      for (const p of closure.packages) prepared.push(await preparePackage(storeDir, cache, p, fsOps));
    } catch (err) {
      for (const p of prepared) if (p.partial) await removeTree(p.partial);
      throw err;
    }
    paths = await publishPackages(storeDir, prepared, durable);
  } finally {
    await fsOps.close();
  }
  const packages: FetchedPackage[] = closure.packages.map((p, i) => ({ digest: p.digest, name: p.manifest.name, path: paths[i] as string }));
  progress.phase = 'done';
  options.onProgress?.({ ...progress });
  const result: FetchClosureResult = { packages, bytesFetched: progress.bytesTotal, objectsFetched: remote.length, requests: counter.requests };
  if (closure.verdict) result.verdict = closure.verdict;
  return result;
}
