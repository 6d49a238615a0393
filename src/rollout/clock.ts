import { performance } from 'node:perf_hooks';
import { setTimeout as sleepFor } from 'node:timers/promises';

/**
 * The clock port of the rollout code. `monotonicMs` judges every duration that matters for safety
 * (lease expiry, renew deadlines); it never jumps and is meaningful only within one process. `now` is
 * the wall clock, used only for human-readable timestamps and maintenance windows, never to compare
 * instants written by another machine for a safety decision.
 */
export interface Clock {
  monotonicMs(): number;
  now(): Date;
  /**
   * Waits `ms` on this clock; rejects when `signal` aborts. Absent: a real timer (sleepOn). A simulated clock
   * (the scale benchmark) advances its own time here, so the code that waits runs unchanged.
   */
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fn` every `ms` on this clock until the returned stop() is called. Absent: an unref'd setInterval (everyOn). */
  every?(ms: number, fn: () => void): () => void;
}

/** The real clock: performance.now() (monotonic) and Date. */
export const systemClock: Clock = {
  monotonicMs: () => performance.now(),
  now: () => new Date(),
};

/** Waits `ms` on `clock` (a real timer when it has no `sleep`); rejects with the abort error when `signal` aborts. */
export function sleepOn(clock: Pick<Clock, 'sleep'> | undefined, ms: number, signal?: AbortSignal): Promise<void> {
  if (clock?.sleep !== undefined) return clock.sleep(ms, signal);
  return sleepFor(ms, undefined, signal ? { signal } : {});
}

/** Calls `fn` every `ms` on `clock` (an unref'd setInterval when it has no `every`); returns stop(). */
export function everyOn(clock: Pick<Clock, 'every'> | undefined, ms: number, fn: () => void): () => void {
  if (clock?.every !== undefined) return clock.every(ms, fn);
  const timer = setInterval(fn, ms);
  // A renewal timer must never keep a finished process alive.
  timer.unref();
  return () => clearInterval(timer);
}
