import type { UnavailableBudget } from '../declarations/types.js';
import { isParseProblem, type MachineStatus, type ParseProblem } from '../status/machine-status.js';
import { reportLifetimeMs } from '../status/readiness.js';
import type { ClosureRef } from '../store/closure-ref.js';

// The unavailability budget (rollout.maxUnavailable): a machine of an earlier batch that has gone silent and
// holds no slot may be stepped over by later batches, up to the budget. The gate, its readers and the fleet
// view judge "silent" and "unreachable" here, the same way.

/** What the gate needs to excuse unreachable machines; absent from GateInput, nobody is excused. */
export interface Unavailability {
  /** Unreachable machines of earlier batches tolerated (unavailableBudget). */
  budget: number;
  /** A report older than this is silent (rollout.unreachableAfter). */
  afterMs: number;
  /** Machines holding a slot of this rollout: never unreachable, whatever their report says. */
  slotHolders: ReadonlySet<string>;
}

/**
 * The budget in machines for a set of `setSize`: a count as is, a percent rounded down (10% of 4 machines is
 * 0, never more than was written). Pure; never throws.
 */
export function unavailableBudget(budget: UnavailableBudget, setSize: number): number {
  return budget.kind === 'count' ? budget.count : Math.floor((setSize * budget.percent) / 100);
}

/**
 * True when the machine's last report is older than `afterMs` by `now`, and than the life its declared
 * heartbeat gives it (readiness.ts), and is not a failure on `target`.
 * Never reported (no age to judge: a machine still being installed looks the same), an unreadable file, a
 * report from the future (a clock ahead) and a Failed or RolledBack report about `target` are not silent:
 * they keep blocking, so a budget never steps over a failure nor a canary that has not run yet.
 */
export function isSilent(status: MachineStatus | ParseProblem | undefined, target: ClosureRef, now: Date, afterMs: number): boolean {
  if (status === undefined || isParseProblem(status)) return false;
  const age = now.getTime() - Date.parse(status.reportedAt);
  // A machine with a long heartbeat may be quiet that long and alive: silent only past two of its beats too.
  if (!(age > reportLifetimeMs(status, afterMs))) return false;
  return !(status.desiredDigest === target && (status.state === 'Failed' || status.state === 'RolledBack'));
}

/** Silent and holding no slot: counts against the budget instead of blocking. */
export function isUnreachable(machine: string, status: MachineStatus | ParseProblem | undefined, target: ClosureRef, now: Date, u: Pick<Unavailability, 'afterMs' | 'slotHolders'>): boolean {
  return !u.slotHolders.has(machine) && isSilent(status, target, now, u.afterMs);
}
