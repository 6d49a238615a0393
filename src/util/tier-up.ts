import { setV8Flags } from './v8-flags.js';

/**
 * V8's interrupt budget for a fetch that downloads: how much a function runs (roughly, bytecode executed)
 * before V8 considers optimising it with TurboFan. V8's default (67,584 in Node 20) suits a long-lived
 * process; a one-shot fetch runs for half a second, and `perf` of a cold fetch over HTTP had V8's optimising
 * compiler at 57 ms of its ~500 ms of CPU, on two cores the fetch shares with its server. Three times the
 * default still optimises the byte loops that run for the whole download (they reach any budget within
 * milliseconds), and spares the hundreds of functions that run a few thousand times: user CPU 0.31 →
 * 0.26 s over HTTP and 0.36 → 0.33 s from a directory store, 6 runs each; 300,000 and 600,000 did no
 * better (docs/performance.md, session 32).
 */
export const FETCH_INTERRUPT_BUDGET = 200_000;

/**
 * Raises V8's interrupt budget to FETCH_INTERRUPT_BUDGET for the rest of the process (worker threads
 * started afterwards set it too: v8-flags.ts). Like any flag set at run time it changes the hash V8
 * checks code caches against, so call it after the built-in modules the fetch still needs are loaded: a
 * package fetch calls it after keepYoungGenerationSmall (cli/young-generation.ts), a Nix fetch after
 * loading its own list (optimiseLater, cli/nix-fetch.ts). The agent's tick worker, a process of its own,
 * sets it as it starts (agent/worker-v8-flags.ts).
 */
export function tierUpLater(): void {
  setV8Flags(`--interrupt-budget=${FETCH_INTERRUPT_BUDGET}`);
}
