import type { ClosureRef } from '../store/closure-ref.js';
import { findCondition } from './conditions.js';
import { isParseProblem, type MachineStatus, type ParseProblem } from './machine-status.js';

/**
 * How far a report's `reportedAt` may sit from the reader's clock, either way, and still count as fresh:
 * the whole threshold for a report that declares no heartbeat (older agents), the floor for one that does,
 * and always the allowance for a clock ahead. The one place wall clocks of two machines meet: a report
 * from a machine whose clock is off by more than this is treated as stale, so skew can stall a rollout but
 * never advance it.
 */
export const DEFAULT_STALE_AFTER_MS = 10 * 60_000;

/**
 * How many of its own heartbeats a machine may stay silent and still count as fresh. Two: a live machine
 * rewrites its report every heartbeat plus at most a poll interval and a tick, so one late or missed beat
 * never makes it look stale.
 */
export const STALE_HEARTBEATS = 2;

/**
 * How old (on the reader's clock) `status` may be before it is stale: `staleAfterMs`, or STALE_HEARTBEATS
 * of the heartbeat the report declares when that is longer. Every reader that calls a report stale, silent
 * or fresh asks this (the gate, `status`, the fleet page, quarantine and notifications through isReadyOn,
 * `revert`, removed machines, the unavailability budget).
 */
export function reportLifetimeMs(status: MachineStatus, staleAfterMs: number): number {
  const declared = status.heartbeatSeconds === undefined ? 0 : STALE_HEARTBEATS * status.heartbeatSeconds * 1000;
  return Math.max(staleAfterMs, declared);
}

/**
 * True when the report is at most reportLifetimeMs old, and at most `staleAfterMs` ahead of `now` (a
 * writer's clock ahead of the reader's; its heartbeat does not widen that).
 */
export function isFresh(status: MachineStatus, now: Date, staleAfterMs: number): boolean {
  const age = now.getTime() - Date.parse(status.reportedAt);
  return age >= 0 ? age <= reportLifetimeMs(status, staleAfterMs) : -age <= staleAfterMs;
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
