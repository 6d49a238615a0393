import { firstNotDoneBefore } from '../rollout/batch-statuses.js';
import { earliestDoneMs } from '../rollout/batch-pace.js';
import { collectOldRollouts } from '../rollout/collect-rollouts.js';
import { followGate, GATE_FOLLOW_WINDOW_MS } from '../rollout/follow-gate.js';
import { failedMachines, type DoneRule, type GateDecision } from '../rollout/gate.js';
import { decideWithReads, STATUS_LISTING_MAX_AGE_MS, type DependencyRef } from '../rollout/gate-reads.js';
import type { QuarantineRecord } from '../rollout/quarantine-record.js';
import { acquireSlot, type Lease } from '../rollout/lease.js';
import { lookAgainMs } from '../rollout/look-again.js';
import { writeSwitchingMarker } from '../rollout/ready-marker.js';
import { batchOf, type RolloutPlan } from '../rollout/planner.js';
import { membersOf } from '../rollout/set-plan.js';
import { unavailableBudget } from '../rollout/unavailability.js';
import { isMisbehaviour } from '../rollout/write-check.js';
import { Reason, type ReasonName } from '../status/conditions.js';
import type { RolloutRef } from '../status/machine-status.js';
import type { Store } from '../store/store.js';
import type { SetContext } from './context.js';
import { runStep } from './step.js';

/** The gate's answer for this machine: go (with the slot it holds, if leases are used) or wait. */
export type GateOutcome =
  | { go: true; lease: Lease | null; rollout: RolloutRef }
  | { go: false; reason: ReasonName; detail: string; stalled: boolean; rollout: RolloutRef | null; followAgain?: true; followAfterMs?: number };

/**
 * The longest one tick follows the batch before this machine's (deciding about once a second while that
 * batch works). A tick that reaches it ends as waiting with `followAgain`, and the daemon starts the next
 * tick at once: the tick's end writes the status heartbeat and lets a new commit or a stop in between.
 */
export const GATE_FOLLOW_MAX_MS = 60_000;

/**
 * How long in all a machine follows the batch before it in one rollout. A batch still not Ready after this
 * is stuck rather than working (a machine off, a health check looping): the machine then looks again only
 * for a few seconds per poll, as a waiting machine does, instead of a LIST a second for as long as it lasts.
 */
export const GATE_FOLLOW_BUDGET_MS = 15 * 60_000;

/** Lease objects of a set's finished rollouts are collected by its machines once past this (as `gc --store`). */
export const FLEET_COLLECT_GRACE_MS = 24 * 3_600_000;
/** A machine's share of that work per gate pass: one listing and at most this many deletes. */
export const FLEET_COLLECT_MAX_DELETES = 20;

/** What counts as done for readers of this set's reports; silent machines are read past only with a budget. */
function doneRule(ctx: SetContext, plan: RolloutPlan, quarantine: QuarantineRecord | null): Omit<DoneRule, 'now'> {
  const { set, ports } = ctx;
  const budget = unavailableBudget(set.rollout.maxUnavailable, plan.order.length);
  return {
    target: { set: set.name, digest: set.closure, rolloutId: plan.rolloutId },
    failed: failedMachines(quarantine),
    staleAfterMs: ports.staleAfterMs,
    ...(budget > 0 ? { silentAfterMs: set.rollout.unreachableAfterMs } : {}),
  };
}

function dependencyRefs(ctx: SetContext): DependencyRef[] {
  const out: DependencyRef[] = [];
  for (const name of ctx.set.rollout.dependsOn) {
    const dep = ctx.decls.sets.get(name);
    // Declaration rules refuse unknown dependsOn.
    if (dep !== undefined) out.push({ set: name, desiredDigest: dep.closure, machines: membersOf(ctx.decls, dep) });
  }
  return out;
}

/**
 * Follows the gate: decides now, and again about every second while the batch right before works, or after
 * each look-again wait (look-again.ts) while the rollout is young. `young`: the last decision's wait is a
 * look-again one. Those looks are a few per batch, so they neither start nor spend the follow budget.
 */
async function followDecisions(ctx: SetContext, coord: Store, plan: RolloutPlan): Promise<{ decision: GateDecision; within: boolean; young: boolean; lookAgainMs?: number; paced: boolean; switching: boolean }> {
  const { set, machine, ports } = ctx;
  let young = false;
  let lookAgainMs: number | undefined;
  let paced = false;
  let switching = false;
  const decide = async (): Promise<GateDecision> => {
    const { decision, requests, young: y, lookAgainMs: look, held, scan, switching: sw } = await decideWithReads({
      store: coord, plan, machine: machine.name, settings: set.rollout, dependencies: dependencyRefs(ctx),
      overrideWindows: set.rollout.overrideWindows, now: ports.clock.now(), staleAfterMs: ports.staleAfterMs,
      unreachable: { budget: unavailableBudget(set.rollout.maxUnavailable, plan.order.length), afterMs: set.rollout.unreachableAfterMs },
      memory: ports.gate, monotonicMs: ports.clock.monotonicMs(),
    });
    young = y === true;
    lookAgainMs = look;
    paced = held === true || scan === true;
    switching = sw === true;
    ports.log.debug({ set: set.name, allowed: decision.allowed, requests, ...(young && !decision.allowed ? { lookAgainMs: decision.retryAfterMs } : {}) }, 'gate decision');
    return decision;
  };
  const first = await decide();
  const last = (): { young: boolean; lookAgainMs?: number; paced: boolean; switching: boolean } => ({ young, paced, switching, ...(lookAgainMs !== undefined ? { lookAgainMs } : {}) });
  if (first.allowed || first.retryAfterMs === undefined) return { decision: first, within: false, ...last() };
  const now = ports.clock.monotonicMs();
  // A wait longer than a tick follows (the batch before cannot be done sooner, batch-pace.ts) is left to
  // the polls, whose decisions cost nothing until then; following starts when it is near.
  const near = first.retryAfterMs <= GATE_FOLLOW_MAX_MS;
  // A batch whose every machine left is switching (switch-watch.ts) is followed past the budget: it is working.
  const within = near && (young || switching || now - ports.gate.followingSince(set.name, plan.rolloutId, now) < GATE_FOLLOW_BUDGET_MS);
  const windowMs = within ? Math.min(GATE_FOLLOW_MAX_MS, Math.max(0, ports.statusHeartbeatMs / 2)) : GATE_FOLLOW_WINDOW_MS;
  const decision = await followGate(decide, { clock: ports.clock, signal: ports.signal, windowMs, first });
  return { decision, within, ...last() };
}

/** A final-batch machine through its gate collects the set's old rollouts (bounded; best effort). */
async function collectBehind(ctx: SetContext, coord: Store, plan: RolloutPlan, batch: number): Promise<void> {
  if (batch !== plan.batches.length - 1) return;
  try {
    const r = await collectOldRollouts(coord, plan.set, plan.rolloutId, { olderThanMs: FLEET_COLLECT_GRACE_MS, now: ctx.ports.clock.now(), maxDeletes: FLEET_COLLECT_MAX_DELETES });
    if (r.deletedKeys > 0) ctx.ports.log.info({ set: plan.set, rollouts: r.deleted, keys: r.deletedKeys, more: r.more }, 'collected lease objects of finished rollouts');
  } catch (err) {
    // Another machine, a later rollout or `gc --store` will do it: never a reason to hold this one back.
    ctx.ports.log.warn({ set: plan.set, err: err instanceof Error ? err.message : String(err) }, 'collecting finished rollouts failed');
  }
}

/**
 * A machine through its gate tells the batch behind it that it is switching (ready-marker.ts, switch-watch.ts):
 * one PUT, skipped in the final batch (nobody follows it) and when this machine polls at least once per follow
 * budget. A batch's machines pass their gates at their own polls, so they start within one poll span: within the
 * budget, the batch behind follows them with a look a second and needs no marker; past it (an hourly poll) the
 * followers' budget runs out while the batch is still starting, and only the markers say it works. Skipping them
 * at short polls keeps their PUTs out of the busiest second after a commit. Best effort: the marker only times
 * the next batch's looks. Returns `lease` unchanged.
 */
async function markSwitching(ctx: SetContext, coord: Store, plan: RolloutPlan, batch: number, lease: Lease | null): Promise<Lease | null> {
  if (batch >= plan.batches.length - 1 || ctx.ports.pollSpanMs <= GATE_FOLLOW_BUDGET_MS) return lease;
  try {
    await writeSwitchingMarker(coord, plan.set, plan.rolloutId, ctx.machine.name);
  } catch (err) {
    ctx.ports.log.warn({ set: plan.set, err: err instanceof Error ? err.message : String(err) }, 'writing the switching marker failed; the next batch looks at its own pace');
  }
  return lease;
}

/**
 * Decides whether this machine may switch now, and takes a batch slot when the rollout uses leases.
 * Order of the fleet (DESIGN §6): earlier batches Ready on this digest, pause elapsed, a window open,
 * dependencies Ready, no quarantine beyond maxFailures; then its own slot by create-if-absent in the store.
 * While the batch right before works, it keeps deciding about every second (up to GATE_FOLLOW_MAX_MS, then
 * `followAgain`). A store caught ignoring a write condition is distrusted at once (its probe is forgotten
 * and re-run before leases are used again) and the set stops as CoordinationUnsafe.
 * `plan` is the set's plan as this machine sees it (setPlanOf: a late joiner is in a final batch).
 */
export async function passGate(ctx: SetContext, plan: RolloutPlan): Promise<GateOutcome> {
  const { set, machine, ports } = ctx;
  return runStep(ctx.timings, ports.log, 'gate', { set: set.name, digest: set.closure }, async () => {
    const settings = set.rollout;
    const rollout: RolloutRef = { id: plan.rolloutId, batch: batchOf(plan, machine.name) };
    const coord = ctx.coordination;
    if (coord === null || !ctx.coordinationSafe) {
      if (!plan.needsLeases && settings.dependsOn.length === 0 && settings.windows.length === 0) return { go: true, lease: null, rollout };
      const why = coord === null ? 'no writable store is configured for coordination' : `store ${coord.url} does not honour conditional writes`;
      return { go: false, reason: Reason.CoordinationUnsafe, detail: `set ${set.name} needs batches, windows or dependencies, but ${why}; refusing to coordinate`, stalled: true, rollout };
    }
    const { decision, within, young, lookAgainMs, paced, switching } = await followDecisions(ctx, coord, plan);
    if (!decision.allowed) {
      const waiting = decision.reason === Reason.WaitingForBatch;
      // The last decision may see every machine left switching when the first was a hold that ran out (a poll's tick).
      const following = !young && !paced && (within || switching) && decision.retryAfterMs !== undefined && decision.retryAfterMs <= GATE_FOLLOW_MAX_MS && waiting && ports.signal.aborted !== true;
      // A wait too long to follow in this tick, for a batch that cannot be done sooner (a hold), the next look
      // of a young rollout (look-again.ts) or a scan of a working batch (switch-watch.ts) that did not fit in
      // this tick: tick again then.
      const later = !following && waiting && decision.retryAfterMs !== undefined && (young || paced || decision.retryAfterMs > GATE_FOLLOW_MAX_MS);
      // Past its follow budget a machine whose batch before still works looks again as a young rollout's do,
      // not a poll later: a batch 0 whose machines start at their own polls works for up to a poll.
      const spent = !following && !later && waiting && decision.retryAfterMs !== undefined && lookAgainMs !== undefined;
      return {
        go: false, reason: decision.reason, detail: decision.detail, stalled: decision.stalled, rollout,
        ...(following ? { followAgain: true as const } : {}), ...(later ? { followAfterMs: decision.retryAfterMs } : {}),
        ...(spent ? { followAfterMs: lookAgainMs } : {}),
      };
    }
    await collectBehind(ctx, coord, plan, rollout.batch);
    if (!decision.needsLease) return { go: true, lease: await markSwitching(ctx, coord, plan, rollout.batch, null), rollout };
    let lease: Lease | null;
    try {
      lease = await acquireSlot({
        store: coord,
        set: set.name,
        rollout: plan.rolloutId,
        slots: decision.slots,
        machine: machine.name,
        holder: ports.holder,
        digest: set.closure,
        ttlMs: set.rollout.leaseTtlMs,
        clock: ports.clock,
        observations: ports.observer,
        preferredSlot: Math.max(0, plan.batches[rollout.batch]?.indexOf(machine.name) ?? 0),
      });
    } catch (err) {
      if (!isMisbehaviour(err)) throw err;
      await ctx.distrustCoordination();
      ports.log.error({ store: coord.url, err: err.message }, 'store ignored a write condition: its probe is forgotten and runs again before leases are used');
      return { go: false, reason: Reason.CoordinationUnsafe, detail: err.message, stalled: true, rollout };
    }
    if (lease === null) return { go: false, reason: Reason.WaitingForSlot, detail: `every one of the ${decision.slots} slot(s) of rollout ${plan.rolloutId} is held`, stalled: false, rollout };
    return { go: true, lease: await markSwitching(ctx, coord, plan, rollout.batch, lease), rollout: { ...rollout, token: lease.token } };
  });
}

/**
 * How many batches ahead of its turn a machine fetches and stages its closure. Fetching waits until every
 * batch before k − FETCH_LOOKAHEAD_BATCHES is done: a commit does not send the whole fleet to the store (and
 * its CPUs to hashing) at once, yet batch k's fetch overlaps the work of the batches just before it.
 */
export const FETCH_LOOKAHEAD_BATCHES = 2;

/**
 * How old a remembered quarantine record may be when judging the fetch turn: fetching ahead licenses no
 * switch (the gate reads the record afresh before one), and the record only tells which lagging machines
 * are tolerated failures. A machine far from its turn thus reads it every other poll, not on each.
 */
export const FETCH_TURN_QUARANTINE_MAX_AGE_MS = 60_000;

/** Why a machine waits for its fetch turn, and when (ms from now) it can come at the earliest, if known. */
export interface TurnWait {
  detail: string;
  followAfterMs?: number;
}

/**
 * Null when this machine may fetch now; otherwise why it waits for its turn to come closer (turnOnce). A
 * young rollout's look-again wait (look-again.ts) is followed inside the tick for up to a minute (at most half
 * the status heartbeat), as the gate does, so those looks cost no new tick; the wait left is `followAfterMs`.
 */
export async function fetchTurn(ctx: SetContext, plan: RolloutPlan): Promise<TurnWait | null> {
  const { ports } = ctx;
  const decide = async (): Promise<{ allowed: boolean; retryAfterMs?: number; wait: (TurnWait & { young?: true }) | null }> => {
    const wait = await turnOnce(ctx, plan);
    return { allowed: wait === null, wait, ...(wait?.young === true && wait.followAfterMs !== undefined ? { retryAfterMs: wait.followAfterMs } : {}) };
  };
  const windowMs = Math.min(GATE_FOLLOW_MAX_MS, Math.max(0, ports.statusHeartbeatMs / 2));
  const { wait } = await followGate(decide, { clock: ports.clock, signal: ports.signal, windowMs });
  if (wait === null) return null;
  return { detail: wait.detail, ...(wait.followAfterMs !== undefined ? { followAfterMs: wait.followAfterMs } : {}) };
}

/**
 * One look at the fetch turn: null when this machine may fetch now, else why not. Reads the
 * rollout's Ready markers (one LIST): batch `end − 1` all marked (or failed) means every batch before `end`
 * is done (by induction, without a budget). Otherwise, when the markers' times say batch `end − 1` cannot be
 * done before some moment, the answer is kept until then (no request on the polls in between); else the
 * status files of machines without a marker are read (firstNotDoneBefore, for agents that write none), and
 * the wait carries lookAgainMs's `followAfterMs` (look-again.ts) so a young rollout is not missed for a poll.
 */
async function turnOnce(ctx: SetContext, plan: RolloutPlan): Promise<(TurnWait & { young?: true }) | null> {
  const { set, machine, ports } = ctx;
  const coord = ctx.coordination;
  if (coord === null || !ctx.coordinationSafe) return null;
  const batch = batchOf(plan, machine.name);
  const end = batch - FETCH_LOOKAHEAD_BATCHES;
  if (!plan.needsLeases || end <= 0) return null;
  const key = `${plan.rolloutId}:${end}:${plan.order.length}:${plan.capacity}`;
  const mono = ports.clock.monotonicMs();
  const held = ports.gate.heldTurn(set.name, key, mono);
  if (held !== undefined) return { detail: held.message, followAfterMs: held.remainingMs };
  return runStep(ctx.timings, ports.log, 'turn', { set: set.name, digest: set.closure }, async () => {
    const { record: quarantine } = await ports.gate.quarantine(coord, set.name, set.closure, mono, FETCH_TURN_QUARANTINE_MAX_AGE_MS);
    const rule = { ...doneRule(ctx, plan, quarantine), now: ports.clock.now() };
    const waiting = (b: number, m: string): string => `batch ${b}: ${m} is not Ready on the target yet; batch ${batch} fetches ${set.closure} when batch ${end - 1} is done`;
    let look: number | undefined;
    let read: DoneRule = rule;
    if (rule.silentAfterMs === undefined) {
      const marked = await ports.gate.readyMarkers(coord, set.name, plan.rolloutId, mono, 0);
      const lagging = (plan.batches[end - 1] ?? []).find((m) => !marked.has(m) && !rule.failed.has(m));
      if (lagging === undefined) return null;
      const earliest = earliestDoneMs(plan, end - 1, marked, rule.failed);
      const waitMs = earliest === undefined ? 0 : earliest - rule.now.getTime();
      if (waitMs > 0) {
        const message = waiting(end - 1, lagging);
        ports.gate.holdTurn(set.name, key, mono + waitMs, message);
        return { detail: message, followAfterMs: waitMs };
      }
      // No pace yet: look again as the gate would (look-again.ts), for the batch the gate will wait for.
      const wall = rule.now.getTime();
      look = lookAgainMs({ plan, upTo: batch - 1, marked, failed: rule.failed, nowMs: wall, firstSeenMs: ports.gate.firstSeen(set.name, plan.rolloutId, wall) });
      // Status files (for agents that write no marker) at most every STATUS_LISTING_MAX_AGE_MS between looks.
      if (look !== undefined && !ports.gate.turnReadDue(set.name, mono, STATUS_LISTING_MAX_AGE_MS)) return { detail: waiting(end - 1, lagging), followAfterMs: look, young: true };
      read = { ...rule, remembered: marked };
    }
    const behind = await firstNotDoneBefore(coord, plan, end, read);
    if (behind === undefined) return null;
    return { detail: waiting(behind.batch, behind.machine), ...(look !== undefined ? { followAfterMs: look, young: true as const } : {}) };
  });
}
