import { constants } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { copyFile, rm } from 'node:fs/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { digestFromHex, type Digest } from '../store/digest.js';
import { objectKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { runPool } from '../util/run-pool.js';
import type { BatchCommitter } from './batch-commit.js';
import { fetchObject } from './fetch-object.js';
import { fetchPack, type PackJob } from './fetch-pack.js';
import { localDiskFull } from './disk-guard.js';
import { throwIfFailed, type FsOpRunner } from './fs-op-runner.js';
import type { FsOp } from './fs-ops.js';
import type { ObjectCache } from './object-cache.js';
import { newFilesOn, type NewFiles } from './new-files.js';

/** An object the cache lacks. */
export interface Wanted {
  digest: Digest;
  size: number;
  /** Inline bytes (already hashed against the digest); absent for objects fetched from a store. */
  bytes?: Buffer;
}

export interface PlaceOptions {
  /** Mirrors, in order. */
  stores: Store[];
  cache: ObjectCache;
  fsOps: FsOpRunner;
  /** Receives every verified temp; left open on success (the caller finishes it with its package trees). */
  committer: BatchCommitter;
  /** Parallel jobs (network downloads, or batches of local steps). */
  concurrency: number;
  signal?: AbortSignal;
  objectTimeoutMs?: number;
  /** Our uid, when a local store's read-only objects owned by it may be hard-linked. */
  linkOwner?: number;
  /**
   * Called with the bytes of each object that verified (negative to take back a failed attempt's);
   * `ownBuffer` when they came through the store's own reused read buffer (fetch-pack.ts).
   */
  onBytes: (n: number, ownBuffer?: boolean) => void;
  onObject: () => void;
  /** Packs to fetch from the first store (plan-packs.ts); their wanted objects are not fetched one by one. */
  packs?: readonly PackJob[];
  /** After each pack: `err` set when it failed and its objects not yet placed were fetched one by one. */
  onPack?: (pack: Digest, err?: unknown) => void;
  /**
   * Settles once the directories of the objects' homes exist (their package trees, begun ahead): objects
   * may be asked for before, but nothing is written until it has, and its failure is every write's.
   */
  ready?: Promise<void>;
  /** Packs write their files on this thread as their bytes arrive (new-files.ts, NewFiles.inline). */
  inlineWrites?: boolean;
}

/** `files`, each write held until `ready` settles (and failing with it). */
function afterReady(files: NewFiles, ready: Promise<void>): NewFiles {
  return {
    write: async (items) => {
      await ready;
      return files.write(items);
    },
    writeAt: async (path, data, pos, last) => {
      await ready;
      return files.writeAt(path, data, pos, last);
    },
    shared: files.shared,
    direct: files.direct,
    inline: files.inline,
  };
}

/** A batch of local steps: up to this many objects or bytes (small enough to keep every thread busy). */
const BATCH_OBJECTS = 64;
const BATCH_BYTES = 8 * 1024 * 1024;

function batches(items: readonly Wanted[]): Wanted[][] {
  const out: Wanted[][] = [];
  let cur: Wanted[] = [];
  let bytes = 0;
  for (const w of items) {
    if (cur.length > 0 && (cur.length >= BATCH_OBJECTS || bytes + w.size > BATCH_BYTES)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(w);
    bytes += w.size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

// A failed pack's remaining objects are fetched this many at a time, inside the pack's own lane.
const FALLBACK_CONCURRENCY = 4;
// Packs streaming at once: each is up to 16 MiB of bandwidth-bound transfer, so a few keep a link busy;
// more would only add their buffers to peak memory. Waiting packs hold a lane, the others serve objects.
const PACK_LANES = 4;

type Job = { kind: 'pack'; pack: PackJob } | { kind: 'local'; items: Wanted[] } | { kind: 'inline'; items: Wanted[] } | { kind: 'remote'; item: Wanted } | { kind: 'twin'; item: Wanted };

/**
 * Puts the missing objects into the cache: inline files, store objects and executable (0555) twins share
 * one pool, so local writes overlap network waits. When the first store is local, its objects are placed
 * in batches (copied or linked, then hashed, off the main thread when there are threads); an object it
 * lacks or serves wrong goes the general way, through every mirror in order. Only what verified is queued
 * for the cache. On failure the committer is finished here (a retry resumes from what verified, unless
 * flushing itself failed); on success it is left to the caller. `execOnly`: wanted objects no plain entry
 * uses (planObjects in fetch-closure.ts), kept as their 0555 variant only.
 */
export async function placeObjects(o: PlaceOptions, wanted: readonly Wanted[], execs: readonly Wanted[], execOnly: ReadonlySet<Digest> = new Set()): Promise<void> {
  const { cache, fsOps, committer } = o;
  const needX = new Set(execs.map((w) => w.digest));
  // A verified temp goes to the committer, with a 0555 copy when an executable entry needs one; an object
  // only executables use becomes its 0555 variant itself, unless it is a hard link to a directory store's
  // file (written 0), whose mode is not ours to change.
  // Undefined when there is nothing to wait for (most objects): no promise per object.
  const commit = (tmp: string, d: Digest, size: number, written = size, wroteDirect = false): Promise<void> | undefined => {
    if (execOnly.has(d) && written > 0) return committer.add(tmp, d, size, true, written, wroteDirect);
    if (needX.has(d)) return withTwin(tmp, d, size, written, wroteDirect);
    return committer.add(tmp, d, size, false, written, wroteDirect);
  };
  const withTwin = async (tmp: string, d: Digest, size: number, written: number, wroteDirect: boolean): Promise<void> => {
    const x = cache.tempPath();
    // Through libuv's pool (the kernel copies), not a synchronous step: it would stall the network
    // streams of every other object on the main thread.
    await copyFile(tmp, x, constants.COPYFILE_EXCL);
    await committer.add(x, d, size, true);
    await committer.add(tmp, d, size, false, written, wroteDirect);
  };
  const direct = newFilesOn(fsOps, o.stores[0]?.localPath === undefined, o.inlineWrites === true);
  const newFiles = o.ready === undefined ? direct : afterReady(direct, o.ready);
  // Every object in flight listens to this one signal (its deadline links to it), not to the caller's:
  // ours may carry as many listeners as there are downloads without a leak warning.
  const hub = new AbortController();
  setMaxListeners(0, hub.signal);
  const onAbort = (): void => hub.abort(o.signal?.reason);
  if (o.signal?.aborted === true) onAbort();
  else o.signal?.addEventListener('abort', onAbort, { once: true });
  const fetchOne = async (w: Wanted): Promise<void> => {
    await fetchObject(o.stores, cache, w.digest, w.size, {
      commit,
      fsOps,
      onBytes: o.onBytes,
      ...(o.linkOwner === undefined ? {} : { linkOwner: o.linkOwner }),
      ...(o.signal ? { signal: hub.signal } : {}),
      ...(o.objectTimeoutMs ? { timeoutMs: o.objectTimeoutMs } : {}),
      ...(o.ready ? { ready: o.ready } : {}),
    });
    o.onObject();
  };
  const local = o.stores[0]?.localPath?.bind(o.stores[0]);
  const packs = o.packs ?? [];
  const inPacks = new Set(packs.flatMap((p) => [...p.wanted]));
  const remote = wanted.filter((w) => w.bytes === undefined && !inPacks.has(w.digest));
  const fresh = new Set(wanted.map((w) => w.digest));
  const jobs: Job[] = [
    ...packs.map((pack): Job => ({ kind: 'pack', pack })),
    ...(local ? batches(remote).map((items): Job => ({ kind: 'local', items })) : remote.map((item): Job => ({ kind: 'remote', item }))),
    ...batches(wanted.filter((w) => w.bytes !== undefined)).map((items): Job => ({ kind: 'inline', items })),
    ...execs.filter((w) => !fresh.has(w.digest)).map((item): Job => ({ kind: 'twin', item })),
  ];
  const placeLocal = async (read: (key: string) => string, items: Wanted[]): Promise<void> => {
    await o.ready;
    if (o.signal?.aborted === true) throw o.signal.reason;
    const tmps = items.map((w) => cache.tempPath(w.digest));
    const steps: FsOp[] = items.map((w, i) => ({ op: 'place', src: read(objectKey(w.digest)), dest: tmps[i] as string, limit: w.size, ...(o.linkOwner === undefined ? {} : { linkOwner: o.linkOwner }) }));
    const results = await fsOps.run(steps, true);
    const retry: Wanted[] = [];
    for (const [i, w] of items.entries()) {
      const r = results[i];
      const tmp = tmps[i] as string;
      if (r?.ok === true && r.bytes === w.size && r.hex !== undefined && digestFromHex(r.hex) === w.digest) {
        o.onBytes(w.size);
        await commit(tmp, w.digest, w.size, r.linked === true ? 0 : w.size);
        o.onObject();
      } else {
        await rm(tmp, { force: true });
        retry.push(w);
      }
    }
    // Missing or wrong here: every mirror in order, with the error naming each store's reason.
    for (const w of retry) await fetchOne(w);
  };
  // A pack that fails in any way (unreachable, truncated, lying index or bytes, a stall) costs a fallback,
  // not the fetch: what verified from it is kept, the rest comes one by one through every mirror.
  let packsRunning = 0;
  const packTurn: Array<() => void> = [];
  const placePack = async (pack: PackJob): Promise<void> => {
    // A finishing pack hands its turn straight to a waiting one, so no newcomer can slip in between.
    if (packsRunning < PACK_LANES) packsRunning++;
    else await new Promise<void>((resolve) => packTurn.push(resolve));
    try {
      await placePackNow(pack);
    } finally {
      const next = packTurn.shift();
      if (next) next();
      else packsRunning--;
    }
  };
  const placePackNow = async (pack: PackJob): Promise<void> => {
    const placed = new Set<Digest>();
    try {
      await fetchPack(o.stores[0] as Store, cache, pack, {
        commit: (tmp, d, size, wroteDirect) => commit(tmp, d, size, size, wroteDirect),
        onObject: (d, size, ownBuffer) => {
          placed.add(d);
          o.onBytes(size, ownBuffer);
          o.onObject();
        },
        ...(o.signal ? { signal: hub.signal } : {}),
        ...(o.objectTimeoutMs ? { timeoutMs: o.objectTimeoutMs } : {}),
        files: newFiles,
        // An inline pack opens its files as its bytes arrive: its first bytes wait for the trees, its request does not.
        ...(newFiles.inline && o.ready ? { ready: o.ready } : {}),
      });
      o.onPack?.(pack.digest);
    } catch (err) {
      if (o.signal?.aborted === true) throw err;
      const full = localDiskFull(err, cache.tmpDir);
      if (full) throw full;
      o.onPack?.(pack.digest, err);
      const rest = pack.entries.filter((e) => pack.wanted.has(e.digest) && !placed.has(e.digest));
      await runPool(rest, FALLBACK_CONCURRENCY, (e) => fetchOne({ digest: e.digest, size: e.size }));
    }
  };
  try {
    await runPool(jobs, o.concurrency, async (job) => {
      if (job.kind === 'pack') return placePack(job.pack);
      if (job.kind === 'local') return placeLocal(local as (key: string) => string, job.items);
      if (job.kind === 'remote') return fetchOne(job.item);
      if (job.kind === 'twin') {
        const x = cache.tempPath();
        throwIfFailed(await fsOps.run([{ op: 'copy', src: cache.path(job.item.digest), dest: x }]));
        return committer.add(x, job.item.digest, job.item.size, true);
      }
      // Inline files wait for the event loop's next poll: the packs started before them are connecting, and
      // their requests go out only once the loop sees the connections made. One setImmediate would resume
      // in this turn's check phase, before that poll; the second resumes after it.
      if (packs.length > 0) {
        await yieldToLoop();
        await yieldToLoop();
      }
      const tmps = job.items.map((w) => cache.tempPath(w.digest));
      await newFiles.write(job.items.map((w, i) => ({ tmp: tmps[i] as string, data: w.bytes ?? Buffer.alloc(0) })));
      for (const [i, w] of job.items.entries()) await commit(tmps[i] as string, w.digest, w.size);
    });
  } catch (err) {
    await committer.finish().catch(() => committer.discard());
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}
