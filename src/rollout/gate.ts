import { formatDuration } from '../util/duration.js';
import type { RolloutPolicy } from '../declarations/types.js';
import { Reason, findCondition, type ReasonName } from '../status/conditions.js';
import { isParseProblem, type MachineStatus, type ParseProblem } from '../status/machine-status.js';
import { isReadyOn } from '../status/readiness.js';
import type { ClosureRef } from '../store/closure-ref.js';
import { batchOf, rolloutIdFor, type RolloutPlan } from './planner.js';
import type { QuarantineRecord } from './quarantine-record.js';
import { isSilent, isUnreachable, type Unavailability } from './unavailability.js';
import { evaluateWindows } from './windows.js';

/** A set this one depends on, with what the reader knows of it. */
export interface DependencyState {
  set: string;
  desiredDigest: ClosureRef;
  machines: readonly string[];
  statuses: ReadonlyMap<string, MachineStatus | ParseProblem>;
}

/** Everything the gate looks at. Gathered by the caller (statuses, quarantine from the store); no I/O here. */
export interface GateInput {
  plan: RolloutPlan;
  machine: string;
  statuses: ReadonlyMap<string, MachineStatus | ParseProblem>;
  /** The quarantine record of `plan.target` in `plan.set`, or null. */
  quarantine: QuarantineRecord | null;
  settings: Pick<RolloutPolicy, 'pauseBetweenBatchesMs' | 'maxFailures' | 'windows'>;
  dependencies: readonly DependencyState[];
  /** Emergency: ignore maintenance windows. */
  overrideWindows?: boolean;
  now: Date;
  staleAfterMs: number;
  /** The unavailability budget and who holds a slot; absent: no machine is excused (budget 0). */
  unavailability?: Unavailability;
  /** Machines of earlier batches this machine already saw done in this rollout (see DoneRule.remembered). */
  remembered?: Remembered;
  /**
   * Ready markers of this rollout (machine → marker time, ms; undefined: unknown): when a machine of the
   * batch before has no report read, its marker time is when it turned Ready for the pause between batches.
   */
  readyAt?: ReadonlyMap<string, number | undefined>;
}

/** A set of machine names, as little as the gate needs of one (a Set or a Map's keys will do). */
export interface Remembered {
  has(machine: string): boolean;
}

/** May this machine ask for a slot now? When not: a reason constant, a sentence, and when to look again. */
export type GateDecision =
  | { allowed: true; batch: number; slots: number; needsLease: boolean }
  | { allowed: false; batch: number; reason: ReasonName; detail: string; stalled: boolean; retryAfterMs?: number };

function closed(batch: number, reason: ReasonName, detail: string, retryAfterMs?: number): GateDecision {
  return { allowed: false, batch, reason, detail, stalled: reason === Reason.Quarantined, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
}

function describe(status: MachineStatus | ParseProblem | undefined, target: ClosureRef): string {
  if (status === undefined) return 'has not reported';
  if (isParseProblem(status)) return `has an unreadable status (${status.problem})`;
  if (status.currentDigest !== target) return `runs ${status.currentDigest ?? 'nothing'} (state ${status.state})`;
  return `is ${status.state} on the target, reported ${status.reportedAt}`;
}

/**
 * When the batch right before this machine's is working (its own gate is open: every batch before it is
 * done), its Ready is imminent: look again this soon rather than on the next poll (see follow-gate.ts).
 * Each look is a LIST with etags (gate-reads.ts), so a second between looks keeps the next batch within
 * two seconds of the batch before turning Ready at one request a second per follower.
 */
export const PREVIOUS_BATCH_RETRY_MS = 1_000;

/** What makes a machine of an earlier batch count as done: Ready on the target, or a tolerated failure. */
export interface DoneRule {
  target: { set: string; digest: ClosureRef; rolloutId: string };
  failed: ReadonlySet<string>;
  now: Date;
  staleAfterMs: number;
  /**
   * Set when the set has an unavailability budget: readers of status files then read past machines whose
   * report is older than this (isSilent), as the gate may step over them.
   */
  silentAfterMs?: number;
  /**
   * Machines already seen done in this rollout (or done by induction: every machine of a later batch was
   * seen done, and each passed this gate only when the batches before it were). Done is kept for the rest
   * of the rollout: a done machine stops being done only by failing, which writes the quarantine record,
   * and the gate reads that record on every decision.
   */
  remembered?: Remembered;
}

/** The first machine of `batch` that is neither Ready on the target nor a tolerated failure. */
export function firstLagging(batch: readonly string[], statuses: ReadonlyMap<string, MachineStatus | ParseProblem>, rule: DoneRule): string | undefined {
  return batch.find((m) => !rule.failed.has(m) && rule.remembered?.has(m) !== true && !isReadyOn(statuses.get(m), rule.target, rule.now, rule.staleAfterMs));
}

/**
 * The first machine of `batch` that is not done and, when `rule.silentAfterMs` is set, not silent either:
 * where a reader of status files must stop, since the gate cannot step over it.
 */
export function firstBlocking(batch: readonly string[], statuses: ReadonlyMap<string, MachineStatus | ParseProblem>, rule: DoneRule): string | undefined {
  const after = rule.silentAfterMs;
  return batch.find((m) => firstLagging([m], statuses, rule) !== undefined && (after === undefined || !isSilent(statuses.get(m), rule.target.digest, rule.now, after)));
}

function unreachableText(machine: string, status: MachineStatus | ParseProblem | undefined): string {
  const last = status === undefined || isParseProblem(status) ? 'never' : status.reportedAt;
  return `${machine} (last report ${last})`;
}

/** The machines a quarantine record names as failed on its digest. */
export function failedMachines(quarantine: QuarantineRecord | null): Set<string> {
  return new Set(quarantine?.failures.map((f) => f.machine) ?? []);
}

/**
 * Step 3 of decideGate: the wait for a machine of an earlier batch (nearest first) that is neither done nor
 * unreachable, or for unreachable machines past the budget; null when the earlier batches let this one go.
 */
function waitForEarlierBatches(input: GateInput, batch: number, rule: DoneRule): GateDecision | null {
  const { plan, now } = input;
  const u = input.unavailability;
  const excused = (m: string): boolean => u !== undefined && isUnreachable(m, input.statuses.get(m), plan.target, now, u);
  const unreachable: string[] = [];
  // Nearest batch first: it is the one most likely still working, and readEarlierBatches stops reading there.
  for (let k = batch - 1; k >= 0; k--) {
    for (const lagging of (plan.batches[k] ?? []).filter((m) => firstLagging([m], input.statuses, rule) !== undefined)) {
      if (!excused(lagging)) {
        const detail = `batch ${k}: ${lagging} ${describe(input.statuses.get(lagging), plan.target)}, not Ready on the target`;
        const before = plan.batches[k - 1] ?? [];
        // With a budget of 0 nothing is stepped over, and the readers stop at a silent machine as the gate does.
        const previousWorking = k === batch - 1 && (k === 0 || before.every((m) => firstLagging([m], input.statuses, rule) === undefined || ((u?.budget ?? 0) > 0 && excused(m))));
        return closed(batch, Reason.WaitingForBatch, detail, previousWorking ? PREVIOUS_BATCH_RETRY_MS : undefined);
      }
      unreachable.push(unreachableText(lagging, input.statuses.get(lagging)));
      // Stop at the first machine past the budget: the readers stop there too when the budget is 0.
      const budget = u?.budget ?? 0;
      if (unreachable.length > budget) {
        return closed(
          batch,
          Reason.WaitingForBatch,
          `unreachable in earlier batches (no report for ${formatDuration(u?.afterMs ?? 0)}, no slot held): ${unreachable.join(', ')}; ` +
            `maxUnavailable allows ${budget}. Bring the machine back, or remove it from set ${plan.set} or raise maxUnavailable in a new commit`,
        );
      }
    }
  }
  return null;
}

/**
 * Decides whether `machine` (batch k of `plan`) may ask for a lease slot now. In order:
 * 1. the target is not quarantined beyond `maxFailures` (and this machine did not itself fail on it);
 * 2. every dependsOn set is Ready on its own desired digest on all its machines;
 * 3. every machine of batches < k (nearest batch first) is Ready on the target (isReadyOn: same set, current = target, Ready
 *    True, bound to this rollout id, fresh), or `remembered` as done, or is a tolerated failure listed in the quarantine, or is unreachable
 *    (`unavailability`: silent past unreachableAfter, holding no slot, not failed on the target) while the
 *    unreachable ones number at most the budget;
 * 4. `pauseBetweenBatchesMs` has passed since the last Ready transition in batch k-1;
 * 5. a maintenance window is open (or overridden).
 * Pure and total; a machine not in the plan is refused with WaitingForBatch.
 */
export function decideGate(input: GateInput): GateDecision {
  const { plan, machine, now } = input;
  const batch = batchOf(plan, machine);
  if (batch < 0) return closed(batch, Reason.WaitingForBatch, `${machine} is not a machine of set ${plan.set}`);
  const failed = failedMachines(input.quarantine);
  if (failed.has(machine)) return closed(batch, Reason.Quarantined, `${machine} itself failed on ${plan.target}; it waits for a new digest or an operator`);
  if (failed.size > input.settings.maxFailures) {
    return closed(batch, Reason.Quarantined, `${plan.target} is quarantined for set ${plan.set}: ${failed.size} failure(s), maxFailures ${input.settings.maxFailures}`);
  }
  for (const dep of input.dependencies) {
    const target = { set: dep.set, digest: dep.desiredDigest, rolloutId: rolloutIdFor(dep.set, dep.desiredDigest) };
    const lagging = dep.machines.find((m) => !isReadyOn(dep.statuses.get(m), target, now, input.staleAfterMs));
    if (lagging !== undefined) {
      return closed(batch, Reason.WaitingForDependency, `set ${dep.set}: ${lagging} ${describe(dep.statuses.get(lagging), dep.desiredDigest)}, not Ready on ${dep.desiredDigest}`);
    }
  }
  const rule: DoneRule = { target: { set: plan.set, digest: plan.target, rolloutId: plan.rolloutId }, failed, now, staleAfterMs: input.staleAfterMs, ...(input.remembered ? { remembered: input.remembered } : {}) };
  const behind = waitForEarlierBatches(input, batch, rule);
  if (behind !== null) return behind;
  if (batch > 0 && input.settings.pauseBetweenBatchesMs > 0) {
    const lastReady = Math.max(
      ...(plan.batches[batch - 1] ?? []).map((m) => {
        const s = input.statuses.get(m);
        const c = s === undefined || isParseProblem(s) ? undefined : findCondition(s.conditions, 'Ready');
        if (c !== undefined) return Date.parse(c.lastTransitionTime);
        // Done by its marker only: the marker's time, or now when the store gave none (the whole pause).
        return input.readyAt?.has(m) === true ? (input.readyAt.get(m) ?? now.getTime()) : 0;
      }),
    );
    const wait = lastReady + input.settings.pauseBetweenBatchesMs - now.getTime();
    if (wait > 0) return closed(batch, Reason.WaitingForPause, `pause after batch ${batch - 1}: ${Math.ceil(wait / 1000)} s left`, wait);
  }
  const verdict = evaluateWindows(input.settings.windows, now, input.overrideWindows === true);
  if (!verdict.open) {
    const next = verdict.nextOpen;
    return closed(batch, Reason.WaitingForWindow, next ? `no maintenance window open; next opens ${next.toISOString()}` : 'no maintenance window opens within a week', next ? next.getTime() - now.getTime() : undefined);
  }
  return { allowed: true, batch, slots: plan.capacity, needsLease: plan.needsLeases };
}
