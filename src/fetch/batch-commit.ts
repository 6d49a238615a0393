import { rm } from 'node:fs/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Digest } from '../store/digest.js';
import { earlyWriteback } from '../util/early-writeback.js';
import { flushFilesystem } from '../util/flush-filesystem.js';
import { throwIfFailed, type FsOpRunner } from './fs-op-runner.js';
import type { FsOp, FsOpResult } from './fs-ops.js';
import type { ObjectCache } from './object-cache.js';
import type { ObjectHomes } from './object-homes.js';
import { TEMPS_HAVE_FINAL_MODE } from './write-temps.js';

/** Verified temp files waiting for one flush before they get their final cache names. */
export interface BatchCommitter {
  /**
   * Queues a verified temp file (the 0555 variant when `executable`) of which `written` bytes are new on
   * disk (default `size`; 0 for a hard link); may flush and commit a full batch, then returns the promise
   * of that (undefined when queued only). `direct`: its bytes were written with O_DIRECT, so no early
   * writeback is started for them (they count toward the batch still).
   */
  add(tmp: string, digest: Digest, size: number, executable?: boolean, written?: number, direct?: boolean): Promise<void> | undefined;
  /**
   * Flushes and commits everything queued. Call on success and on failure (verified work is kept).
   * `alsoFlushed`: more paths on the same filesystem the one flush must cover (package trees built from
   * the queued temps), so the caller needs no flush of its own.
   */
  finish(alsoFlushed?: readonly string[]): Promise<void>;
  /** Where the object is now: its queued temp file, its home in a package tree, or its cache name. */
  pathOf(digest: Digest, executable: boolean): string;
  /** Removes queued temps without committing (when the flush itself failed). */
  discard(): Promise<void>;
}

/**
 * Batches cache commits: temps are flushed to disk together (one syncfs) and only then renamed to their
 * final names, so a power cut never leaves a final name over unflushed bytes. An object written at its
 * home in a package tree (`homes`, object-homes.ts) stays there and gets its cache name as a second link,
 * after the same flush. `durable: false` skips the flush (tests, benchmarks of the floor). A batch closes
 * every `batchBytes` (default 256 MiB).
 */
export function createBatchCommitter(cache: ObjectCache, durable: boolean, fsOps: FsOpRunner, homes: ObjectHomes = new Map(), batchBytes = 256 * 1024 * 1024): BatchCommitter {
  let pending: Array<{ tmp: string; digest: Digest; executable: boolean }> = [];
  let pendingBytes = 0;
  // Early writeback (util/early-writeback.ts) of the bytes queued. Bytes written with O_DIRECT are not
  // counted: a flush has nothing of theirs to write.
  const writeback = durable ? earlyWriteback(cache.tmpDir) : undefined;
  const queued = new Map<string, string>();
  const keyOf = (digest: Digest, executable: boolean): string => (executable ? `${digest}.x` : digest);
  // The first `flushedEarly` of `pending` are on disk already: an early flush that started after they were
  // queued succeeded. `batchNo` tells a flush that ends after its batch was committed from one of the next.
  let flushedEarly = 0;
  let batchNo = 0;
  // Mode (only where the temp was not created with it), then the final name (its shard directory made on
  // first use); independent, so spread over threads.
  const modeOf = (b: { executable: boolean }): { mode?: number } => (b.executable ? { mode: 0o555 } : TEMPS_HAVE_FINAL_MODE ? {} : { mode: 0o444 });
  const stepOf = (b: (typeof pending)[number]): FsOp =>
    !b.executable && homes.get(b.digest) === b.tmp
      ? { op: 'adopt', from: b.tmp, dest: cache.path(b.digest), tmp: cache.tempPath(), ...modeOf(b) }
      : { op: 'commit', tmp: b.tmp, dest: cache.path(b.digest, b.executable), ...modeOf(b) };
  const commit = async (alsoFlushed: readonly string[] = []): Promise<void> => {
    const batch = pending;
    const early = Math.min(flushedEarly, batch.length);
    pending = [];
    pendingBytes = 0;
    flushedEarly = 0;
    batchNo++;
    for (const b of batch) queued.delete(keyOf(b.digest, b.executable));
    if (batch.length === 0 && alsoFlushed.length === 0) return;
    const steps = batch.map(stepOf);
    if (!durable) {
      throwIfFailed(await fsOps.runSpread(steps));
      return;
    }
    // What an early flush already put on disk gets its name while this flush runs (it may take ~100 ms,
    // ~40 of them naming a cold fetch's 2,130 objects); the rest only after it. The flush's child is
    // spawned first (after the one turn its module load takes), as the steps may run on this thread.
    const flush = flushFilesystem(cache.tmpDir, [...batch.slice(early).map((b) => b.tmp), ...alsoFlushed], undefined, writeback);
    flush.catch(() => undefined); // awaited below
    let ahead: Promise<FsOpResult[]> = Promise.resolve([]);
    if (early > 0) {
      await yieldToLoop();
      ahead = fsOps.runSpread(steps.slice(0, early));
    }
    try {
      await flush;
    } catch (err) {
      await ahead.catch(() => undefined);
      await Promise.all(batch.slice(early).map((b) => rm(b.tmp, { force: true })));
      throw err;
    }
    throwIfFailed(await ahead);
    throwIfFailed(await fsOps.runSpread(steps.slice(early)));
  };
  return {
    // Synchronous but for a full batch: thousands of objects are queued per fetch, and a promise each
    // was one more step between an object's write and the next.
    add(tmp, digest, size, executable = false, written = size, direct = false) {
      pending.push({ tmp, digest, executable });
      queued.set(keyOf(digest, executable), tmp);
      pendingBytes += written;
      const flushing = direct ? undefined : writeback?.wrote(written);
      if (flushing !== undefined) {
        const covers = pending.length;
        const no = batchNo;
        void flushing.then((ok) => {
          if (ok && no === batchNo) flushedEarly = Math.max(flushedEarly, covers);
        });
      }
      return pendingBytes >= batchBytes ? commit() : undefined;
    },
    // The early writeback's shell ends here, once it ran the last batch's own flush (flush-filesystem.ts).
    async finish(alsoFlushed) {
      try {
        await commit(alsoFlushed);
      } finally {
        writeback?.close();
      }
    },
    // A home stays the answer after its commit: it exists until its tree is published, and its cache name
    // may be missing (an inode at its link cap is not adopted).
    pathOf: (digest, executable) => queued.get(keyOf(digest, executable)) ?? (executable ? undefined : homes.get(digest)) ?? cache.path(digest, executable),
    async discard() {
      writeback?.close();
      const batch = pending;
      pending = [];
      queued.clear();
      await Promise.all(batch.map((b) => rm(b.tmp, { force: true })));
    },
  };
}
