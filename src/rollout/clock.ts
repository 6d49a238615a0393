import { performance } from 'node:perf_hooks';

/**
 * The clock port of the rollout code. `monotonicMs` judges every duration that matters for safety
 * (lease expiry, renew deadlines); it never jumps and is meaningful only within one process. `now` is
 * the wall clock, used only for human-readable timestamps and maintenance windows, never to compare
 * instants written by another machine for a safety decision.
 */
export interface Clock {
  monotonicMs(): number;
  now(): Date;
}

/** The real clock: performance.now() (monotonic) and Date. */
export const systemClock: Clock = {
  monotonicMs: () => performance.now(),
  now: () => new Date(),
};
