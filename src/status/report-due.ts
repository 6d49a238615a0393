import { Reason } from './conditions.js';
import type { MachineStatus } from './machine-status.js';

/**
 * What a report says for the purpose of "did it change": everything but its time, the commit it was made
 * at and the wording of a success or, while waiting, of any condition.
 */
function meaning(s: MachineStatus): string {
  // A waiting machine's message names what it waits for ("batch 2: web-7 is not Ready"), which moves on
  // every poll during a rollout; rewriting the report for each would cost the fleet a store write per
  // machine per poll and tell readers nothing new. The reasons, the state and everything else still count.
  // Nor does a success's wording: "generation 3 active and healthy" after the switch, "generation 3 is
  // active" on the ticks after it, say the same (the generation is a field of its own); rewriting for it
  // would cost each machine a write on the first tick after every switch.
  const conditions = s.conditions.map((c) => (s.state === 'Waiting' || c.reason === Reason.Succeeded ? { ...c, message: '' } : c));
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
