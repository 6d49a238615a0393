import type { MachineStatus } from './machine-status.js';
import { DEFAULT_STALE_AFTER_MS } from './readiness.js';

/**
 * How often an unchanged report is written again. Readers judge a machine stale after
 * DEFAULT_STALE_AFTER_MS without a report, so a live machine must refresh well within that; between
 * refreshes an agent polling every second would otherwise rewrite (and fsync) the same file every second.
 * It is also the longest a settled daemon goes without a full tick (each one starts a tick worker
 * process, about half a second of CPU), hence a quarter of the staleness: at most heartbeat + one poll
 * interval passes between two reports, leaving room for a slow tick or two missed polls.
 */
export const STATUS_HEARTBEAT_MS = DEFAULT_STALE_AFTER_MS / 4;

/** What a report says for the purpose of "did it change": everything but its time and, while waiting, the wording. */
function meaning(s: MachineStatus): string {
  // A waiting machine's message names what it waits for ("batch 2: web-7 is not Ready"), which moves on
  // every poll during a rollout; rewriting the report for each would cost the fleet a store write per
  // machine per poll and tell readers nothing new. The reasons, the state and everything else still count.
  const conditions = s.state === 'Waiting' ? s.conditions.map((c) => ({ ...c, message: '' })) : s.conditions;
  return JSON.stringify({ ...s, conditions, reportedAt: '' });
}

/**
 * True when `next` must be written: nothing was written yet, something besides its time (and a waiting
 * message's wording) changed, or the last write is at least `heartbeatMs` old.
 */
export function reportDue(last: MachineStatus | undefined, next: MachineStatus, heartbeatMs: number): boolean {
  if (last === undefined) return true;
  if (Date.parse(next.reportedAt) - Date.parse(last.reportedAt) >= heartbeatMs) return true;
  return meaning(last) !== meaning(next);
}
