// Whether fresh page-cache pages are slow to fill depends on the host, and on the hour: on this project's
// VMs each new page sometimes faults into the host (free page reporting, memory the host took back), and a
// 256 KiB write through the cache then takes ~0.6 ms where it otherwise takes ~0.06 (docs/performance.md,
// *Which way to write, judged while writing*). Writing around the cache (O_DIRECT) then wins a third of a
// fetch, and otherwise loses 10–15 %. A 1 MiB probe at the start could not tell: its pages came warm (the
// kernel hands out the pages freed last first) while the 50 MB after it met cold ones. So the writes
// themselves are timed, and the verdict, once slow, holds for the rest of the process.

/** Writes judged at once: the median of the last this many. */
const WINDOW = 8;
/**
 * Below this rate a write counts as slow: timed from this thread, through libuv's pool (~0.05 ms of the
 * hop on top), 256 KiB came in ~0.1 ms with warm pages and ~0.65 ms with pages faulting into the host.
 */
const SLOW_BELOW_BYTES_PER_MS = 1e6;

/** Judges the page cache from the writes through it, timed by their writer. */
export interface PageCacheJudge {
  /** A write of `bytes` of fresh pages through the page cache took `ms`. */
  note(bytes: number, ms: number): void;
  /** Whether the last WINDOW writes noted (or an earlier window) were slow; false until WINDOW were. */
  slow(): boolean;
}

/** A judge of its own (tests); the process's is `pageCacheJudge`. */
export function createPageCacheJudge(): PageCacheJudge {
  const rates: number[] = [];
  let verdict = false;
  return {
    note(bytes: number, ms: number): void {
      if (verdict) return;
      rates.push(bytes / Math.max(ms, 1e-6));
      if (rates.length > WINDOW) rates.shift();
      if (rates.length < WINDOW) return;
      const sorted = [...rates].sort((a, b) => a - b);
      const median = ((sorted[WINDOW / 2 - 1] as number) + (sorted[WINDOW / 2] as number)) / 2;
      verdict = median < SLOW_BELOW_BYTES_PER_MS;
    },
    slow: () => verdict,
  };
}

/** The process's judge: every large file's writer notes its writes here and asks it. */
export const pageCacheJudge: PageCacheJudge = createPageCacheJudge();
