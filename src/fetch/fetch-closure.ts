import { mkdir, readdir } from 'node:fs/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { availableParallelism } from 'node:os';
import { IntegrityError } from '../errors/index.js';
import { hashBytes } from '../packages/manifest-codec.js';
import type { Digest } from '../store/digest.js';
import type { Store } from '../store/store.js';
import type { ManifestLimits } from '../packages/limits.js';
import type { LoadedManifest } from '../packages/manifest-types.js';
import type { PolicyVerdict, PublisherPolicy } from '../trust/manifest-policy.js';
import { countRequests, type RequestCounter } from './counting-store.js';
import { placeObjects, type Wanted } from './place-objects.js';
import { createBatchCommitter } from './batch-commit.js';
import { beginPackageTree, finishPackage, publishPackages, removeStalePartials, startPackage, type PreparedPackage, type StartedPackage, type TreeInProgress } from './materialise-package.js';
import { removeTree } from '../util/remove-tree.js';
import { directWritesWanted } from '../util/direct-writes.js';
import { cacheWithHomes } from './object-homes.js';
import { makeShards, missingObjects, openObjectCache, type ObjectCache } from './object-cache.js';
import { inlineFsOpRunner, startLater, threadFsOpRunner, type FsOpRunner, type LaterRunner } from './fs-op-runner.js';
import { readClosureManifests } from './read-closure.js';
import { planPacks, readPackHint } from './plan-packs.js';
import { packageDirName, packagePath, storeDir as storeDirOf } from '../generations/layout.js';
import { STATFS_DISK_SPACE, type DiskSpace } from '../generations/disk-space.js';
import { ensureFetchSpace, localDiskFull } from './disk-guard.js';

/** Progress of a fetch, reported after each object and phase change. */
export interface FetchProgress {
  phase: 'manifests' | 'objects' | 'materialise' | 'done';
  bytesDone: number;
  /**
   * Of bytesDone, those read through a store's own reused buffer (packs over plain HTTP): they leave no
   * garbage behind, unlike bytes read through a client's per-read buffers.
   */
  bytesOwnBuffer: number;
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
   * Worker threads for local copying, hashing and materialising: by default, when the first store is a
   * directory store and the work is 64 MiB or 4,096 files (or this is the first fetch into stateDir), one
   * per core, at most 4; else none. 0 keeps all of it on the calling thread.
   */
  fsThreads?: number;
  /**
   * Hard-link, rather than copy, the objects of a directory store on the same filesystem whose files are
   * owned by our uid and read-only (default true): no second copy of the bytes, still hashed in full.
   */
  linkLocal?: boolean;
  /**
   * Fetch cold packages' objects in packs (packages/pack-format.ts) from the first store, where it has
   * them. Default: when the first store is a network store; from a directory store, copying or linking
   * each object in the kernel is faster than streaming a pack through the process (see performance.md).
   */
  packs?: boolean;
  /** Free-space port (default statfs): checked against what the fetch will write before any object is fetched. */
  space?: DiskSpace;
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
  /** Packs fetched whole, and packs that failed (their remaining objects were fetched one by one). */
  packsFetched: number;
  packFallbacks: number;
  verdict?: PolicyVerdict;
}

/**
 * Lists what the cache lacks for the packages to materialise: store objects to fetch and inline files to
 * write (each inline file hashed first: a mismatch refuses the closure before anything is written), plus
 * the executable (0555) variants the cache lacks. An object only ever used as an executable (`execOnly`)
 * is fetched when neither variant is cached and then kept as its 0555 variant alone: a plain copy no
 * entry links would be a second inode of the same bytes.
 */
async function planObjects(cache: ObjectCache, todo: LoadedManifest[]): Promise<{ wanted: Wanted[]; execs: Wanted[]; execOnly: Set<Digest> }> {
  const plain = new Map<Digest, Wanted>();
  const execs = new Map<Digest, Wanted>();
  for (const p of todo) {
    for (const e of p.manifest.entries) {
      if (e.type !== 'file') continue;
      const map = e.executable ? execs : plain;
      if (map.has(e.digest)) continue;
      if (e.data === undefined) {
        map.set(e.digest, { digest: e.digest, size: e.size });
        continue;
      }
      const bytes = Buffer.from(e.data, 'base64');
      const actual = hashBytes(bytes);
      if (actual !== e.digest) {
        throw new IntegrityError(`manifest ${p.digest}: the inline data of ${JSON.stringify(e.path)} hashes to ${actual}, not to its digest ${e.digest}`, { object: e.digest, actual, manifest: p.digest, path: e.path });
      }
      map.set(e.digest, { digest: e.digest, size: e.size, bytes });
    }
  }
  const missingExecs = await missingObjects(cache, [...execs.values()], true);
  // An executable-only object whose plain variant is cached is copied from it (a twin); else fetched.
  const wanted = await missingObjects(cache, [...plain.values(), ...missingExecs.filter((w) => !plain.has(w.digest))]);
  const execOnly = new Set(wanted.filter((w) => !plain.has(w.digest)).map((w) => w.digest));
  return { wanted, execs: missingExecs.map(({ digest, size }) => ({ digest, size })), execOnly };
}

/** Local work from which worker threads pay for their start (about 20 ms): 64 MiB or 4,096 files. */
const THREADS_FROM_BYTES = 64 * 1024 * 1024;
const THREADS_FROM_FILES = 4096;

/**
 * Threads when the closure is big, or as told by `fsThreads` (0 keeps everything on the calling thread):
 * from a local store (the directory store) copying and hashing are their work; from a plain HTTP store
 * (one that reads into its own buffer), only when its writes go around the page cache (writesInline): the
 * files' O_DIRECT writes, a batch per hand-off, whose waits then do not hold up the sockets. Not from S3:
 * its SDK's buffers already make most of a cold fetch's peak memory, and a thread's heap took it from
 * under 100 MB to 111 MB (`npm run bench -- fetch`).
 */
function wantsThreads(o: FetchClosureOptions, bytes: number, files: number): boolean {
  if (o.fsThreads !== undefined) return o.fsThreads > 0;
  if (writesInline(o)) return false;
  const first = o.stores[0];
  if (first?.localPath === undefined && first?.readInto === undefined) return false;
  return bytes >= THREADS_FROM_BYTES || files >= THREADS_FROM_FILES;
}

/** Two turns of the event loop: connections started in this one are made, and their requests written, by then. */
async function afterRequests(): Promise<void> {
  await yieldToLoop();
  await yieldToLoop();
}

/**
 * Whether the fetch writes its files on the main thread, as their bytes arrive (pack-splitter-inline.ts),
 * with no filesystem thread at all: from a plain HTTP store (one that reads into its own buffer), unless
 * `fsThreads` says otherwise or writes go around the page cache (FLOTILLA_DIRECT_WRITES=1: their waits on
 * the disk are what a thread overlaps). Through the page cache a write only copies, and handing the bytes
 * to a thread cost more than writing them here: the copy into shared memory, a message per batch, the
 * thread's own start (~45 ms of CPU, on the critical path of a cold fetch). Cold over HTTP, the same
 * build: CPU 1.1 → 0.9 s, peak RSS 83 → 63 MB, wall no worse (docs/performance.md, session 30).
 */
export function writesInline(o: Pick<FetchClosureOptions, 'fsThreads' | 'stores'>, direct = directWritesWanted()): boolean {
  const first = o.stores[0];
  return o.fsThreads === undefined && first !== undefined && first.localPath === undefined && first.readInto !== undefined && !direct;
}

/**
 * The threads to start: `fsThreads`, else one per core (at most 4) for a local store's copying and
 * hashing, and one for a network store, whose bytes the main thread hashes as they arrive. A second one
 * paid while writes went to the disk with O_DIRECT, which it overlapped (0.70 → 0.66 s, session 17): kept
 * with FLOTILLA_DIRECT_WRITES=1. Through the page cache (the default since session 24) a write
 * does not wait on the disk, and a thread's start alone is ~45 ms of CPU on the two cores the fetch
 * shares with its server: one thread, 10 rounds of a cold fetch over HTTP, 1.17 → 1.09 s of CPU and
 * 1.023 → 1.004 s wall + sync (docs/performance.md, session 29).
 */
function fsThreadRunner(o: FetchClosureOptions, direct = directWritesWanted()): FsOpRunner {
  return threadFsOpRunner(o.fsThreads ?? (o.stores[0]?.localPath !== undefined ? undefined : direct ? Math.min(2, availableParallelism()) : 1), direct);
}

/**
 * Fetches the closure of `digest` into stateDir and materialises each package read-only at
 * stateDir/store/<hex>-<name>/. Order: root manifest bytes → policy (signatures, deployable flag) → parse
 * every manifest of the closure → fetch missing objects (bounded parallelism, mirrors in order; each hashed
 * while it streams in, or, from a directory store, after it is copied or linked under a temp name) →
 * materialise. Nothing is materialised unless every object verified; already
 * materialised packages are reused. Throws InvalidDigestError, SignatureError, PolicyError, ManifestError,
 * SizeLimitError, IntegrityError / NotFoundError / TransportError naming the object and each store's reason;
 * DiskFullError (a local fault: no mirror is tried, temps and partial packages are removed) when the state
 * dir has less room than the objects not yet present plus a margin, or a write meets ENOSPC/EDQUOT.
 */
export async function fetchClosure(options: FetchClosureOptions): Promise<FetchClosureResult> {
  const storeDir = storeDirOf(options.stateDir);
  let early: LaterRunner | undefined;
  try {
    await mkdir(storeDir, { recursive: true });
    // The first fetch into a state dir is a whole closure, cold, so presumed big: its threads start while
    // the manifests are read, rather than after (their start takes about 20 ms). A fetch that writes inline
    // has none, and makes its trees after the manifests: made on this thread as each manifest held, they
    // took 12 rotated rounds of a cold fetch over HTTP from 0.880 to 0.909 s (session 30).
    const names = await readdir(storeDir);
    const direct = directWritesWanted();
    early = names.length === 0 && wantsThreads(options, THREADS_FROM_BYTES, 0) ? startLater(() => fsThreadRunner(options, direct), true, direct) : undefined;
    return await fetchInto(options, storeDir, names, early);
  } catch (err) {
    throw localDiskFull(err, options.stateDir) ?? err;
  } finally {
    await early?.close();
  }
}

/** `names`: the entries of storeDir when the fetch began (packages already materialised, stale partials). */
async function fetchInto(options: FetchClosureOptions, storeDir: string, names: string[], early: LaterRunner | undefined): Promise<FetchClosureResult> {
  const counter: RequestCounter = { requests: 0 };
  const stores = options.stores.map((s) => countRequests(s, counter));
  const durable = options.durable ?? true;
  const cache = await openObjectCache(options.stateDir);
  await removeStalePartials(storeDir, names);
  const present = new Set(names);
  const progress: FetchProgress = { phase: 'manifests', bytesDone: 0, bytesOwnBuffer: 0, bytesTotal: 0, objectsDone: 0, objectsTotal: 0 };
  options.onProgress?.({ ...progress });
  const first = stores[0];
  const usePacks = options.packs ?? first?.localPath === undefined;
  // Into an empty state dir every package is cold: each one's pack hint is asked for with its manifest
  // (a request beside the manifest's, not one round trip after it), so the largest package's hint, last
  // in the chain of references, is in before the closure is planned rather than read only then. (A
  // package with fewer than two objects to pack has no hint, and one whose objects the cache holds
  // already, as after a failed first fetch, needs none: planPacks ignores those, one request spent for
  // nothing, once per state dir.)
  const hints = new Map<Digest, Promise<Buffer>>();
  const wantHints = usePacks && first !== undefined && names.length === 0;
  // Into an empty state dir whose threads already run, each package's tree is begun by those threads as
  // soon as its manifest is read, while the next manifests are read, rather than after the whole closure;
  // and its objects are asked for while its directories are still being made (`treesMade` gates only the
  // writes): its directories no longer stand between planning and the first pack. A fetch that fails
  // before using them removes them.
  const ahead = new Map<Digest, TreeInProgress>();
  let dropped = false;
  const dropAhead = async (): Promise<void> => {
    dropped = true;
    for (const { tree, made } of ahead.values()) {
      await made.catch(() => undefined);
      await removeTree(tree.partial);
    }
  };
  // A hint is asked for with its manifest (the request needs only its digest; read-closure asks the stores
  // for each manifest once); a tree, only once the manifest holds.
  const askHint = (digest: Digest): void => {
    if (!wantHints || first === undefined) return;
    const hint = readPackHint(first, digest, options.signal);
    hint.catch(() => undefined); // planPacks reads its failure, if it still wants the hint
    hints.set(digest, hint);
  };
  const onManifest = (p: LoadedManifest): void => {
    if (early !== undefined && !dropped) {
      const begun = beginPackageTree(storeDir, p, early);
      begun.made.catch(() => undefined); // the writes gated on it read its failure
      ahead.set(p.digest, begun);
    }
  };
  // The closure's manifests go into the cache while its objects are planned and fetched; awaited before
  // anything is published, and on failure before the fetch returns.
  let cached: Promise<void> | undefined;
  try {
    const reading = readClosureManifests(stores, options.digest, {
      policy: options.policy,
      cache,
      cacheLater: true,
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(early !== undefined ? { onManifest } : {}),
      ...(wantHints ? { onRequest: askHint } : {}),
    });
    // The early threads start once the root manifest's request is out (at the loop's next check phase):
    // their start, ~20 ms of CPU on this machine's two cores, no longer stands before that request.
    if (early !== undefined) setImmediate(() => early.start());
    const closure = await reading;
    cached = closure.cached;
    const todo = closure.packages.filter((p) => !present.has(packageDirName(p.digest, p.manifest.name)));
    const { wanted, execs, execOnly } = todo.length === 0 ? { wanted: [], execs: [], execOnly: new Set<Digest>() } : await planObjects(cache, todo);
    const linkOwner = options.linkLocal === false ? undefined : process.geteuid?.();
    await ensureFetchSpace(options.space ?? STATFS_DISK_SPACE, { stateDir: options.stateDir, stores: options.stores, wanted, execs: execs.filter((w) => !execOnly.has(w.digest)), todo, ...(linkOwner === undefined ? {} : { linkOwner }) });
    const remote = wanted.filter((w) => w.bytes === undefined);
    progress.phase = 'objects';
    progress.objectsTotal = remote.length;
    progress.bytesTotal = remote.reduce((a, w) => a + w.size, 0);
    options.onProgress?.({ ...progress });
    const files = todo.reduce((a, p) => a + p.manifest.entries.length, 0);
    const packs = usePacks && first !== undefined && remote.length > 0 ? await planPacks(first, todo, new Map(remote.map((w) => [w.digest, w.size])), options.signal, hints) : [];
    const packCount = { fetched: 0, failed: 0 };
    const inline = writesInline(options);
    // Writing inline, the batches of renames and links (the cache's names, the trees' links) run inline
    // too: most come after the last byte, when no socket waits on this thread, and there 2,130 links took
    // 35–44 ms against ~100 through libuv's pool (fs-ops-async.ts).
    const fsOps = early ?? (wantsThreads(options, progress.bytesTotal, files) ? fsThreadRunner(options) : inlineFsOpRunner(inline));
    // Writing inline into an empty store/, the trees' directories (10-15 ms on this thread) are made once
    // the packs are asked for, while their requests travel: two turns of the loop later, the connections
    // then made and the requests written. The packs' first bytes wait for them (`ready` below).
    if (inline && early === undefined && names.length === 0) {
      const later: FsOpRunner = { ...fsOps, run: (ops, keepGoing) => afterRequests().then(() => fsOps.run(ops, keepGoing)) };
      for (const p of todo) {
        const begun = beginPackageTree(storeDir, p, later);
        begun.made.catch(() => undefined); // the writes gated on it read its failure
        ahead.set(p.digest, begun);
      }
    }
    let paths: string[];
    try {
      // Each package's tree is begun first, so that each object seen for the first time is written straight
      // at its path in a tree (its home, object-homes.ts) rather than at a cache temp renamed into the cache
      // and linked into the tree: one name per file fewer, and no rename.
      const homes = new Map<Digest, string>();
      const homeless = new Set(wanted.map((w) => w.digest));
      const started: StartedPackage[] = [];
      const committer = createBatchCommitter(cache, durable, fsOps, homes);
      // The cache's shard directories, made once the first pack is in (the threads then mostly wait on the
      // disk) rather than each at its first object's cache name, at the end (up to 256 mkdirs after as
      // many failed links). Only a head start: that end makes any still missing.
      let shardsMade: Promise<void> | undefined;
      const treesMade = Promise.all([...ahead.values()].map((t) => t.made)).then(() => undefined);
      treesMade.catch(() => undefined); // awaited below, and read by every write it gates
      try {
        for (const p of closure.packages) started.push(present.has(packageDirName(p.digest, p.manifest.name)) ? { final: packagePath(options.stateDir, p.digest, p.manifest.name), dirs: [], homed: new Set() } : await startPackage(storeDir, p, fsOps, homes, homeless, ahead.get(p.digest)?.tree));
        await placeObjects(
          {
            stores,
            cache: cacheWithHomes(cache, homes),
            fsOps,
            committer,
            concurrency: options.concurrency ?? 16,
            ...(options.signal ? { signal: options.signal } : {}),
            ...(options.objectTimeoutMs ? { objectTimeoutMs: options.objectTimeoutMs } : {}),
            ...(linkOwner === undefined ? {} : { linkOwner }),
            onBytes: (n, ownBuffer) => {
              progress.bytesDone += n;
              if (ownBuffer === true) progress.bytesOwnBuffer += n;
            },
            onObject: () => {
              progress.objectsDone += 1;
              options.onProgress?.({ ...progress });
            },
            packs,
            ready: treesMade,
            inlineWrites: inline,
            onPack: (_pack, err) => {
              if (err === undefined) packCount.fetched++;
              else packCount.failed++;
              shardsMade ??= makeShards(cache, [...wanted, ...execs], fsOps);
            },
          },
          wanted,
          execs,
          execOnly,
        );
        await Promise.all([cached, treesMade]);
        progress.phase = 'materialise';
        options.onProgress?.({ ...progress });
        // The package trees link the verified objects where they are (at their homes, or still under temp
        // names), so one flush makes both durable before anything gets a final name: cache names first,
        // then packages.
        const prepared: PreparedPackage[] = [];
        for (const [i, p] of closure.packages.entries()) prepared.push(await finishPackage(started[i] as StartedPackage, (digest, executable) => committer.pathOf(digest, executable), p, fsOps));
        await shardsMade;
        await committer.finish(prepared.flatMap((p) => p.dirs));
        paths = await publishPackages(storeDir, prepared, durable, true);
      } catch (err) {
        // What verified gets its cache name before the trees holding its homes are removed (a retry resumes);
        // a tree still being made is let finish first, so that nothing is made in it after its removal.
        await treesMade.catch(() => undefined);
        await shardsMade;
        await committer.finish().catch(() => committer.discard());
        for (const p of started) if (p.partial) await removeTree(p.partial);
        throw err;
      }
    } finally {
      if (fsOps !== early) await fsOps.close();
    }
    const packages: FetchedPackage[] = closure.packages.map((p, i) => ({ digest: p.digest, name: p.manifest.name, path: paths[i] as string }));
    progress.phase = 'done';
    options.onProgress?.({ ...progress });
    const result: FetchClosureResult = { packages, bytesFetched: progress.bytesTotal, objectsFetched: remote.length, requests: counter.requests, packsFetched: packCount.fetched, packFallbacks: packCount.failed };
    if (closure.verdict) result.verdict = closure.verdict;
    return result;
  } catch (err) {
    await cached?.catch(() => undefined);
    await dropAhead();
    throw err;
  }
}
