import { setFlagsFromString } from 'node:v8';

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
 * the heap is made). Any flag change also changes the hash V8 checks code caches against, so built-in
 * modules compiled afterwards would lose Node's code cache (~70 ms for the HTTP client): the ones a fetch
 * may still need (`extra`: node:https for an https:// store) are loaded first. Called by `fetch` only once
 * it has to download (a one-shot no-op never grows its heap), and by `agent` as it starts.
 */
export function keepYoungGenerationSmall(extra: readonly string[] = []): void {
  for (const m of [...FETCH_BUILTINS, ...extra]) process.getBuiltinModule(m);
  setFlagsFromString('--semi-space-growth-factor=1');
}
