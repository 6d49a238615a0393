// Whether fresh page-cache pages are slow to fill depends on the host, and on the hour: on this project's
// VMs each new page sometimes faults into the host (free page reporting, memory the host took back), and a
// 256 KiB write through the cache then takes ~0.6 ms where it otherwise takes ~0.06 (docs/performance.md,
// *Which way to write, judged while writing*). Writing around the cache (O_DIRECT) then wins a third of a
// fetch, and otherwise loses 10–15 %. A 1 MiB probe at the start could not tell: its pages came warm (the
// kernel hands out the pages freed last first) while the 50 MB after it met cold ones. So the writes
// themselves are timed, and the verdict, once slow, holds for the rest of the process. Only some of them:
// the ones `sample()` picks, which the writer makes on its own thread, synchronously, and times around the
// call. Until session 41 every write was timed through libuv's pool, until the writing thread ran its
// callback: within a cold fetch that thread's parsing, hashing and other files held the callbacks back,
// 256 KiB was timed at 0.6–7 ms where the same write made on the thread took 0.11–0.25 ms, and the judge
// sent every large file around a quick cache, to a device that took 0.4 s for what the cache and its
// overlapped writeback did in 0.1–0.3 (docs/nix.md).

/** Writes judged at once: the median of the last this many. */
const WINDOW = 8;
/** After the first WINDOW writes, one in this many is sampled: a sampled write holds the writer's thread (~0.1 ms a quick one). */
const SAMPLE_EVERY = 8;
/**
 * Below this rate a write counts as slow. The writes noted are synchronous ones timed around the call
 * (nar-unpack.ts, as `sample()` picks them), so the rate is the page cache's own: 256 KiB took 0.06 ms with warm pages
 * and 0.58 ms with pages faulting into the host, measured so in session 31, and 0.11–0.25 ms within a cold
 * fetch of three 50 MB files on a quick cache (session 41).
 */
const SLOW_BELOW_BYTES_PER_MS = 1e6;

/** Judges the page cache from the writes through it, timed by their writer. */
export interface PageCacheJudge {
  /**
   * Whether to time the next write through the page cache (asked once per full-size write: a file's short
   * last write is mostly its call's fixed cost, and its rate would read as a slow cache): made on the
   * writer's thread and noted. The first WINDOW, then one in SAMPLE_EVERY; none once the cache is found slow.
   */
  sample(): boolean;
  /** A write of `bytes` of fresh pages through the page cache took `ms`, timed around the call. */
  note(bytes: number, ms: number): void;
  /** Whether the last WINDOW writes noted (or an earlier window) were slow; false until WINDOW were. */
  slow(): boolean;
}

/** A judge of its own (tests); the process's is `pageCacheJudge`. */
export function createPageCacheJudge(): PageCacheJudge {
  const rates: number[] = [];
  let verdict = false;
  let asked = 0;
  return {
    sample(): boolean {
      if (verdict) return false;
      asked++;
      return asked <= WINDOW || asked % SAMPLE_EVERY === 0;
    },
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
