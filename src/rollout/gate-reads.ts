// One gate decision with its reads, for the agent's gate step and for benchmarks: everything comes in as
// ports (a Store, the time, the memory kept between decisions), and the requests the decision made come out.
import type { RolloutPolicy } from '../declarations/types.js';
import { Reason } from '../status/conditions.js';
import { countRequests, type RequestCounter } from '../fetch/counting-store.js';
import type { MachineStatus, ParseProblem } from '../status/machine-status.js';
import type { ClosureRef } from '../store/closure-ref.js';
import type { Store } from '../store/store.js';
import { readEarlierBatches, type DoneMemory, type StatusSource } from './batch-statuses.js';
import { earliestDoneMs } from './batch-pace.js';
import { decideGate, failedMachines, PREVIOUS_BATCH_RETRY_MS, type DependencyState, type DoneRule, type GateDecision } from './gate.js';
import type { GateMemory } from './gate-memory.js';
import { lookAgainMs } from './look-again.js';
import { watchSwitching, type SwitchWatch } from './switch-watch.js';
import { listSlotLeases } from './lease-admin.js';
import { batchOf, type RolloutPlan } from './planner.js';
import type { QuarantineRecord } from './quarantine-record.js';
import { isSilent, type Unavailability } from './unavailability.js';

/** A set this one depends on: its name, the digest it must be Ready on, and its members. */
export interface DependencyRef {
  set: string;
  desiredDigest: ClosureRef;
  machines: readonly string[];
}

/** Inputs of decideWithReads. */
export interface GateReadInput {
  store: Store;
  plan: RolloutPlan;
  machine: string;
  settings: Pick<RolloutPolicy, 'pauseBetweenBatchesMs' | 'maxFailures' | 'windows'>;
  dependencies: readonly DependencyRef[];
  overrideWindows: boolean;
  now: Date;
  staleAfterMs: number;
  /** The set's unavailability budget in machines and rollout.unreachableAfter. */
  unreachable: { budget: number; afterMs: number };
  memory: GateMemory;
  /**
   * This process's monotonic clock now. With it, a decision that waits may use a quarantine record read up to
   * QUARANTINE_WAIT_MAX_AGE_MS ago; a decision that lets the machine go always reads it again. Without it,
   * every decision reads the record.
   */
  monotonicMs?: number;
}

/**
 * How old a remembered quarantine record may be for a decision that waits. A machine following the batch
 * before it decides about once a second; the record changes only when a machine fails, and a failure in the
 * batch it follows keeps that machine from turning Ready anyway. A decision to go reads it afresh.
 */
export const QUARANTINE_WAIT_MAX_AGE_MS = 10_000;

/** A decision and the store requests it cost (every kind: LIST pages, GETs, HEADs). */
export interface DecisionWithCost {
  decision: GateDecision;
  requests: number;
  /**
   * Set when the decision's `retryAfterMs` is lookAgainMs's (look-again.ts: the batch it waits for is not the
   * working one and no pace says when it can be done), not the look a second at a working batch right before.
   */
  young?: true;
  /** lookAgainMs's wait for this decision, when it waits for an earlier batch that is not done. */
  lookAgainMs?: number;
  /** The decision's `retryAfterMs` is a hold: before it ends, decisions cost nothing and cannot go. */
  held?: true;
  /** The decision's `retryAfterMs` is a scan look (switch-watch.ts): some machine left has not begun switching. */
  scan?: true;
  /** Every machine left in the batch right before is switching (switch-watch.ts): worth following. */
  switching?: true;
}

/** A status source over the memory's listing of `set`: gets only the files whose etag changed. */
function listedSource(store: Store, memory: GateMemory, set: string): StatusSource {
  return (machines) => memory.listing(set).read(store, machines);
}

/**
 * How old the status listing may be for a decision when the set has no unavailability budget. Ready
 * markers (one LIST a decision) say which machines are done; the status files only say how the others are
 * doing (the waiting message) and are read past when a machine's marker is missing (an older agent, a
 * marker write that failed). Done is kept once seen, so an older listing can only make a machine wait longer.
 */
export const STATUS_LISTING_MAX_AGE_MS = 10_000;

/**
 * Reads what the gate of `machine` needs and decides (decideGate). Reads, in order: the quarantine record
 * (one GET; while waiting, a record read within QUARANTINE_WAIT_MAX_AGE_MS is used instead, and a decision
 * to go is made again on a fresh one when that differs); one LIST of the rollout's Ready markers
 * (ready-marker.ts), every machine of an earlier batch with a marker counting as done; then, only when
 * some machine of an earlier batch is neither marked nor remembered done, the set's status listing (at
 * most every STATUS_LISTING_MAX_AGE_MS without a budget) and the files of the nearest earlier batches whose
 * etag changed (readEarlierBatches); the same for each dependsOn set (a listing, and its changed files); and
 * the slot list only when some report read is silent.
 *
 * When the decision waits for an earlier batch and the markers' times say that batch cannot be done
 * before some moment (batch-pace.ts), the decision carries that wait as `retryAfterMs` and is held in the
 * memory until then: decisions before it cost no request. When no pace says so (fewer than two batches done,
 * or the batch is late on it) and the batch before is not the working one, the decision carries
 * lookAgainMs's wait instead, marked `young`: a machine looks again sooner than its poll, a few times per batch.
 * When the batch right before is the working one, its switching markers (switch-watch.ts) may hold the decision
 * until its last switch can be done (`held`, `switching`), or make the next look a scan (`scan`, `retryAfterMs`
 * half the shortest switch) while some of its machines have not begun.
 * All need `monotonicMs` (an agent's decisions). Throws the store's errors.
 */
export async function decideWithReads(input: GateReadInput): Promise<DecisionWithCost> {
  const counter: RequestCounter = { requests: 0 };
  const store = countRequests(input.store, counter);
  const { plan, memory } = input;
  const holdKey = `${plan.rolloutId}:${batchOf(plan, input.machine)}:${plan.order.length}:${plan.capacity}`;
  if (input.monotonicMs !== undefined) {
    const held = memory.heldDecision(plan.set, holdKey, input.monotonicMs);
    if (held !== undefined) return { decision: { ...held.decision, retryAfterMs: held.remainingMs } as GateDecision, requests: 0, held: true };
  }
  const maxAge = input.monotonicMs === undefined ? 0 : QUARANTINE_WAIT_MAX_AGE_MS;
  const first = await memory.quarantine(store, plan.set, plan.target, input.monotonicMs ?? 0, maxAge);
  let reading = await decideOn(input, store, first.record);
  if (reading.decision.allowed && !first.fresh) {
    const again = await memory.quarantine(store, plan.set, plan.target, input.monotonicMs ?? 0, 0);
    if (JSON.stringify(again.record) !== JSON.stringify(first.record)) reading = await decideOn(input, store, again.record);
  }
  const { decision } = reading;
  const forBatch = !decision.allowed && decision.reason === Reason.WaitingForBatch;
  const watch = forBatch ? reading.watch : undefined;
  const switching = watch?.kind === 'switching' ? { switching: true as const } : {};
  // Both are moments batch `batch − 1` cannot be done before (by the pace, by the switches seen): the later holds.
  const earliest = watch?.kind === 'switching' && watch.earliestMs !== undefined ? Math.max(reading.earliestMs ?? 0, watch.earliestMs) : reading.earliestMs;
  if (forBatch && earliest !== undefined && input.monotonicMs !== undefined) {
    const waitMs = earliest - input.now.getTime();
    if (waitMs > PREVIOUS_BATCH_RETRY_MS) {
      const held: GateDecision = { ...decision, retryAfterMs: waitMs };
      memory.holdDecision(plan.set, holdKey, input.monotonicMs + waitMs, held);
      return { decision: held, requests: counter.requests, held: true, ...switching };
    }
  }
  const look = reading.lookAgainMs !== undefined && !decision.allowed ? { lookAgainMs: reading.lookAgainMs } : {};
  if (forBatch && watch?.kind === 'scan' && decision.retryAfterMs !== undefined && input.monotonicMs !== undefined) {
    return { decision: { ...decision, retryAfterMs: watch.lookMs }, requests: counter.requests, scan: true, ...look };
  }
  if (!decision.allowed && decision.reason === Reason.WaitingForBatch && decision.retryAfterMs === undefined && reading.lookAgainMs !== undefined && input.monotonicMs !== undefined) {
    return { decision: { ...decision, retryAfterMs: reading.lookAgainMs }, requests: counter.requests, young: true, ...look };
  }
  return { decision, requests: counter.requests, ...look, ...switching };
}

/**
 * decideOn's answer: the decision, when the batch it waits for can be done at the earliest (if known), and when
 * to look again without a pace (lookAgainMs, if the batch it waits for is not the working one).
 */
interface Reading {
  decision: GateDecision;
  earliestMs: number | undefined;
  lookAgainMs: number | undefined;
  /** The switch watch of the batch right before (switch-watch.ts), when it is the working one. */
  watch: SwitchWatch | undefined;
}

/** decideWithReads's reads and decision given the quarantine record. */
async function decideOn(input: GateReadInput, store: Store, quarantine: QuarantineRecord | null): Promise<Reading> {
  const { plan, memory, now } = input;
  const done = memory.doneIn(plan.set, plan.rolloutId);
  const rule: DoneRule = {
    target: { set: plan.set, digest: plan.target, rolloutId: plan.rolloutId },
    failed: failedMachines(quarantine),
    now,
    staleAfterMs: input.staleAfterMs,
    ...(input.unreachable.budget > 0 ? { silentAfterMs: input.unreachable.afterMs } : {}),
  };
  const batch = batchOf(plan, input.machine);
  const nowMs = input.monotonicMs ?? 0;
  let marked: ReadonlyMap<string, number | undefined> = new Map();
  if (batch > 0) {
    marked = await memory.readyMarkers(store, plan.set, plan.rolloutId, nowMs, 0);
    // Only machines of the batches before this one count: a marker of anyone else opens nothing.
    for (let k = 0; k < batch; k++) for (const m of plan.batches[k] ?? []) if (marked.has(m) && !done.has(m)) done.set(m, null);
  }
  const earlier = plan.batches.slice(0, Math.max(0, batch));
  const allDone = earlier.every((b) => b.every((m) => done.has(m) || rule.failed.has(m)));
  if (batch > 0 && !allDone) await memory.refreshListing(store, plan.set, nowMs, input.unreachable.budget > 0 || input.monotonicMs === undefined ? 0 : STATUS_LISTING_MAX_AGE_MS);
  const statuses = allDone ? rememberedStatuses(earlier, done) : await readEarlierBatches(listedSource(store, memory, plan.set), plan, batch, rule, done);
  const dependencies: DependencyState[] = [];
  for (const dep of input.dependencies) {
    await memory.listing(dep.set).refresh(store);
    dependencies.push({ ...dep, statuses: await memory.listing(dep.set).read(store, dep.machines) });
  }
  const decision = decideGate({
    plan, machine: input.machine, statuses, quarantine, settings: input.settings, dependencies, overrideWindows: input.overrideWindows,
    now, staleAfterMs: input.staleAfterMs, remembered: done, readyAt: marked,
    unavailability: await unavailabilityOf(store, plan, input.unreachable, statuses, done, now),
  });
  if (batch <= 0) return { decision, earliestMs: undefined, lookAgainMs: undefined, watch: undefined };
  // Machines seen done in their status files (an agent that writes no marker) count as marked, with no time.
  const seen = new Map(marked);
  for (const m of done.keys()) if (!seen.has(m)) seen.set(m, undefined);
  const wall = now.getTime();
  const look = lookAgainMs({ plan, upTo: batch - 1, marked: seen, failed: rule.failed, nowMs: wall, firstSeenMs: memory.firstSeen(plan.set, plan.rolloutId, wall) });
  const watch = watchSwitching({ plan, upTo: batch - 1, marked: seen, switching: memory.switchingMarkers(plan.set, plan.rolloutId), failed: rule.failed, nowMs: wall });
  return { decision, earliestMs: earliestDoneMs(plan, batch - 1, marked, rule.failed), lookAgainMs: look, watch };
}

/** The reports kept with machines remembered done (those read, not those done by marker or induction). */
function rememberedStatuses(batches: readonly (readonly string[])[], done: DoneMemory): Map<string, MachineStatus | ParseProblem> {
  const out = new Map<string, MachineStatus | ParseProblem>();
  for (const b of batches) for (const m of b) {
    const s = done.get(m);
    if (s) out.set(m, s);
  }
  return out;
}

/**
 * The budget and the slot holders the gate judges unreachable machines with. The slots are listed only when
 * a report read (and not remembered done) is silent: a rollout where every machine reports costs nothing more.
 */
async function unavailabilityOf(
  store: Store, plan: RolloutPlan, u: { budget: number; afterMs: number },
  statuses: ReadonlyMap<string, MachineStatus | ParseProblem>, done: ReadonlyMap<string, unknown>, now: Date,
): Promise<Unavailability> {
  const anySilent = [...statuses].some(([m, s]) => !done.has(m) && isSilent(s, plan.target, now, u.afterMs));
  const held = anySilent ? (await listSlotLeases(store, plan.set, plan.rolloutId)).filter((l) => l.state === 'held').map((l) => l.machine) : [];
  return { budget: u.budget, afterMs: u.afterMs, slotHolders: new Set(held) };
}
