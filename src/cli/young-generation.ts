import { runInNewContext } from 'node:vm';
import { setV8Flags } from '../util/v8-flags.js';

/**
 * Node's built-in modules that a fetch which downloads may load after its own modules: the HTTP client (the
 * HTTP store loads it on its first request), its retry timers, and the filesystem flush (child_process).
 */
const FETCH_BUILTINS = ['node:http', 'node:timers/promises', 'node:child_process'] as const;

/**
 * Keeps V8's young generation at its initial size (two 1 MiB semi-spaces) for the rest of the process: a
 * cold fetch's garbage is short-lived, and a young generation grown to its default 16 MiB semi-spaces is
 * most of its peak RSS beyond Node's own (docs/performance.md). `--semi-space-growth-factor` is read each
 * time V8 would grow it, so setting it at run time takes effect (unlike `--max-semi-space-size`, fixed when
 * the heap is made; a worker thread's start resets it, so its starter sets it again: util/v8-flags.ts).
 * Any flag change also changes the hash V8 checks code caches against, so built-in
 * modules compiled afterwards would lose Node's code cache (~70 ms for the HTTP client): the ones a fetch
 * may still need (`extra`: node:https for an https:// store) are loaded first. Called by `fetch` only once
 * it has to download (a one-shot no-op never grows its heap), and by `agent` as it starts.
 */
export function keepYoungGenerationSmall(extra: readonly string[] = []): void {
  for (const m of [...FETCH_BUILTINS, ...extra]) process.getBuiltinModule(m);
  setV8Flags('--semi-space-growth-factor=1');
}

/** Bytes a downloading fetch moves between two full collections (see collectGarbageEvery). */
export const FETCH_GC_BYTES = 8 * 1024 * 1024;

/**
 * V8's full collector, exposed at run time (`--expose-gc` installs `gc` on contexts made after it is set,
 * so a new context is made to fetch it: ~4 ms). Call after keepYoungGenerationSmall, whose flag change
 * already cost the code cache of later built-ins.
 */
export function fullCollector(): () => void {
  setV8Flags('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * Returns a progress hook that runs `collect` (default: V8's full collector, made at its first collection)
 * each time `bytesDone` has grown by `step` bytes since the last run. Why: every socket read of a download
 * allocates a 64 KiB buffer outside V8's heap, and the HTTP parser a copy of its body bytes; both are
 * garbage at once, but V8 frees them only when it collects, which it starts from external memory alone
 * after tens of MB. Meanwhile glibc hands them out of the main heap, which keeps its high-water mark as
 * RSS: ~40 MB of a cold fetch's peak (docs/performance.md, *Peak RSS*). A full collection of the fetch's
 * ~10 MB heap costs a few ms. A fetch whose bytes all come through a store's own reused buffer (packs over
 * plain HTTP) never gets to `step`, and so never makes the collector: no context, no `--expose-gc`.
 */
export function collectGarbageEvery(step: number, collect?: () => void): (bytesDone: number) => void {
  let next = step;
  let run = collect;
  return (bytesDone) => {
    if (bytesDone < next) return;
    next = bytesDone + step;
    (run ??= fullCollector())();
  };
}
