import { flushFilesystem } from './flush-filesystem.js';

/**
 * Bytes written between two background flushes. With a filesystem thread 16 and 32 MiB did alike, 8 and
 * 64 MiB worse (session 24); written inline, what is left to flush after the last byte is the end of the
 * fetch, and 16 MiB took 16 alternating rounds of a cold fetch over HTTP from 0.933 to 0.916 s (session 30).
 */
export const WRITEBACK_BYTES = 16 * 1024 * 1024;

/** Counts a fetch's bytes written through the page cache, and flushes in the background as they add up. */
export interface EarlyWriteback {
  /** Counts `bytes` just written; every `every` bytes, starts a flush unless one still runs. */
  wrote(bytes: number): void;
}

/**
 * Early writeback for the filesystem holding `dir`: every `every` bytes written, a flush (syncfs, through
 * flushFilesystem) starts in the background, at most one at a time, so the disk writes while the fetch
 * downloads, hashes and copies what comes next, and the flush that makes the fetch durable (before its
 * renames) finds little left to write. That last flush alone vouches for durability and reports errors:
 * an early one's outcome is ignored. Each flush forks `sync -f`: 4–5 ms of the caller's thread, and the
 * fork leaves every page of the process copy-on-write, so the next write to each faults once (a shell kept
 * to run the flushes removed those faults but not measurably any time: docs/performance.md, session 25).
 */
export function earlyWriteback(dir: string, every = WRITEBACK_BYTES): EarlyWriteback {
  let unflushed = 0;
  let running: Promise<void> | undefined;
  return {
    wrote(bytes) {
      unflushed += bytes;
      if (running !== undefined || unflushed < every) return;
      unflushed = 0;
      running = flushFilesystem(dir, [])
        .catch(() => undefined)
        .finally(() => {
          running = undefined;
        });
    },
  };
}
