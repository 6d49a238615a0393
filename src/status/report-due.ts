import type { MachineStatus } from './machine-status.js';

/**
 * What a report says for the purpose of "did it change": everything but its time, the commit it was made
 * at and, while waiting, the wording.
 */
function meaning(s: MachineStatus): string {
  // A waiting machine's message names what it waits for ("batch 2: web-7 is not Ready"), which moves on
  // every poll during a rollout; rewriting the report for each would cost the fleet a store write per
  // machine per poll and tell readers nothing new. The reasons, the state and everything else still count.
  const conditions = s.state === 'Waiting' ? s.conditions.map((c) => ({ ...c, message: '' })) : s.conditions;
  // Every machine ticks on every commit, most for a set the commit did not touch: rewriting each report for
  // the commit id alone would be a write per machine per commit, all within one poll interval. No reader
  // decides anything from it (the gate binds reports to the rollout and digests); it rides on the next write.
  return JSON.stringify({ ...s, conditions, reportedAt: '', commit: '' });
}

/**
 * True when `next` must be written: nothing was written yet, something besides its time, commit (and a
 * waiting message's wording) changed, or the last write is at least `heartbeatMs` old. The heartbeat is the
 * writer's own (statusHeartbeat), declared in the report so readers judge its staleness by it.
 */
export function reportDue(last: MachineStatus | undefined, next: MachineStatus, heartbeatMs: number): boolean {
  if (last === undefined) return true;
  if (Date.parse(next.reportedAt) - Date.parse(last.reportedAt) >= heartbeatMs) return true;
  return meaning(last) !== meaning(next);
}
