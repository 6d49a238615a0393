import { rm } from 'node:fs/promises';
import type { Digest } from '../store/digest.js';
import { runPool } from '../packages/run-pool.js';
import { flushFilesystem } from './flush-filesystem.js';
import { commitTemp, type ObjectCache } from './object-cache.js';

/** Verified temp files waiting for one flush before they get their final cache names. */
export interface BatchCommitter {
  /** Queues a verified temp file (the 0555 variant when `executable`); may flush and commit a full batch. */
  add(tmp: string, digest: Digest, size: number, executable?: boolean): Promise<void>;
  /** Flushes and commits everything queued. Call on success and on failure (verified work is kept). */
  finish(): Promise<void>;
  /** Removes queued temps without committing (when the flush itself failed). */
  discard(): Promise<void>;
}

/**
 * Batches cache commits: temps are flushed to disk together (one syncfs) and only then renamed to their
 * final names, so a power cut never leaves a final name over unflushed bytes. `durable: false` skips the
 * flush (tests, benchmarks of the floor). A batch closes every `batchBytes` (default 256 MiB).
 */
export function createBatchCommitter(cache: ObjectCache, durable: boolean, batchBytes = 256 * 1024 * 1024): BatchCommitter {
  let pending: Array<{ tmp: string; digest: Digest; executable: boolean }> = [];
  let pendingBytes = 0;
  const commit = async (): Promise<void> => {
    const batch = pending;
    pending = [];
    pendingBytes = 0;
    if (batch.length === 0) return;
    if (durable) {
      try {
        await flushFilesystem(cache.tmpDir, batch.map((b) => b.tmp));
      } catch (err) {
        await Promise.all(batch.map((b) => rm(b.tmp, { force: true })));
        throw err;
      }
    }
    // Independent renames: overlap them in the thread pool rather than paying each round trip in turn.
    await runPool(batch, 32, (b) => commitTemp(cache, b.tmp, b.digest, b.executable));
  };
  return {
    async add(tmp, digest, size, executable = false) {
      pending.push({ tmp, digest, executable });
      pendingBytes += size;
      if (pendingBytes >= batchBytes) await commit();
    },
    finish: commit,
    async discard() {
      const batch = pending;
      pending = [];
      await Promise.all(batch.map((b) => rm(b.tmp, { force: true })));
    },
  };
}
