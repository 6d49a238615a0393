/** The tick worker's body (tick-worker.ts and all it reaches), compiled and waiting to run. */
export interface CompiledTickWorker {
  /** Whether it was compiled from V8's code cache (only the bundle has one). */
  readonly cached: boolean;
  /** Runs its modules and gives its exports. */
  load(): Promise<typeof import('./tick-worker.js')>;
}

/**
 * Compiles the worker's body for tick-worker-main.ts, which sets its V8 flags in between. Unbundled (dist/src,
 * tests) there is nothing to compile ahead: `load` imports the module. scripts/bundle-cli.mjs replaces this
 * module in the worker's entry bundle with one that compiles the body's bundle (tick-worker-body.js) from
 * its code cache, which V8 accepts only under the flags it was made with (none), hence before the flags.
 */
export function compileTickWorker(): CompiledTickWorker {
  return { cached: false, load: () => import('./tick-worker.js') };
}
