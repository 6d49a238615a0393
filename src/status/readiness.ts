import type { ClosureRef } from '../store/closure-ref.js';
import { findCondition } from './conditions.js';
import { isParseProblem, type MachineStatus, type ParseProblem } from './machine-status.js';

/**
 * How far a report's `reportedAt` may sit from the reader's clock, either way, and still count as fresh.
 * The one place wall clocks of two machines meet: a report from a machine whose clock is off by more
 * than this is treated as stale, so skew can stall a rollout but never advance it.
 */
export const DEFAULT_STALE_AFTER_MS = 10 * 60_000;

/** True when the report's time is within `staleAfterMs` of `now` in either direction. */
export function isFresh(status: MachineStatus, now: Date, staleAfterMs: number): boolean {
  const t = Date.parse(status.reportedAt);
  return Math.abs(now.getTime() - t) <= staleAfterMs;
}

/**
 * True when `status` says: this set, running `digest`, state Ready with the Ready condition True, the
 * report bound to `rolloutId` (the id of that digest's rollout), and fresh. A "healthy" report about the
 * previous digest, a file copied from another set or a replayed old report fails at least one check.
 */
export function isReadyOn(
  status: MachineStatus | ParseProblem | undefined,
  target: { set: string; digest: ClosureRef; rolloutId: string },
  now: Date,
  staleAfterMs: number,
): boolean {
  if (status === undefined || isParseProblem(status)) return false;
  return (
    status.set === target.set &&
    status.currentDigest === target.digest &&
    status.state === 'Ready' &&
    findCondition(status.conditions, 'Ready')?.status === 'True' &&
    status.rollout?.id === target.rolloutId &&
    isFresh(status, now, staleAfterMs)
  );
}
