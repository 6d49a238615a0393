import { statSync } from 'node:fs';
import { startFlushShell, type FlushShell } from './flush-shell.js';

/**
 * Bytes written between two background flushes. With a filesystem thread 16 and 32 MiB did alike, 8 and
 * 64 MiB worse (session 24); written inline, what is left to flush after the last byte is the end of the
 * fetch, and 16 MiB took 16 alternating rounds of a cold fetch over HTTP from 0.933 to 0.916 s (session 30).
 */
export const WRITEBACK_BYTES = 16 * 1024 * 1024;

/** Counts a fetch's bytes written through the page cache, and flushes in the background as they add up. */
export interface EarlyWriteback {
  /**
   * Counts `bytes` just written; every `every` bytes, starts a flush unless one still runs, and returns
   * it: true once it succeeded (everything written before this call is then on disk), false if it failed.
   */
  wrote(bytes: number): Promise<boolean> | undefined;
  /**
   * A flush now in the shell the early ones run in, when one runs and serves `dir`'s filesystem (else
   * undefined): true once it succeeded, covering everything written before this call (flush-filesystem.ts
   * takes it for a fetch's last flush).
   */
  flushFor(dir: string): Promise<boolean> | undefined;
  /** Done writing: ends the shell the flushes ran in (a flush it still runs completes). */
  close(): void;
}

/**
 * Early writeback for the filesystem holding `dir`: every `every` bytes written, a flush (syncfs, `sync -f`)
 * starts in the background, at most one at a time, so the disk writes while the fetch downloads, hashes and
 * copies what comes next, and the flush that makes the fetch durable (before its renames) finds little
 * left to write. That last flush alone reports errors; an early one that succeeded says what it covered
 * (fetch/batch-commit.ts names those objects while the last one runs). The flushes run in one shell kept
 * for them (flush-shell.ts), started at the first: a fork of this process per flush cost ~6.5 ms of the
 * writing thread each, which a fetch that writes on its main thread (fetch/pack-splitter-inline.ts) pays
 * on the thread its downloads wait for (session 30; session 25, with a filesystem thread doing the writes,
 * saw no difference).
 */
export function earlyWriteback(dir: string, every = WRITEBACK_BYTES): EarlyWriteback {
  let unflushed = 0;
  let running = false;
  let shell: FlushShell | undefined;
  let closed = false;
  let ownDev: number | undefined;
  return {
    wrote(bytes) {
      unflushed += bytes;
      if (running || closed || unflushed < every) return undefined;
      unflushed = 0;
      running = true;
      return (shell ??= startFlushShell(dir)).flush().then((ok) => {
        running = false;
        return ok;
      });
    },
    flushFor(target) {
      if (shell === undefined || closed) return undefined;
      const dev = (p: string): number | undefined => statSync(p, { throwIfNoEntry: false })?.dev;
      ownDev ??= dev(dir);
      return ownDev !== undefined && dev(target) === ownDev ? shell.flush() : undefined;
    },
    close() {
      closed = true;
      shell?.close();
    },
  };
}
