import { firstNotDoneBefore, readEarlierBatches, type SeenDone } from '../rollout/batch-statuses.js';
import { followGate } from '../rollout/follow-gate.js';
import { decideGate, failedMachines, type DependencyState, type DoneRule, type GateDecision } from '../rollout/gate.js';
import type { QuarantineRecord } from '../rollout/quarantine-record.js';
import { acquireSlot, type Lease } from '../rollout/lease.js';
import { listSlotLeases } from '../rollout/lease-admin.js';
import { batchOf, type RolloutPlan } from '../rollout/planner.js';
import { readQuarantine } from '../rollout/quarantine.js';
import { membersOf } from '../rollout/set-plan.js';
import { isSilent, unavailableBudget, type Unavailability } from '../rollout/unavailability.js';
import { Reason, type ReasonName } from '../status/conditions.js';
import type { RolloutRef } from '../status/machine-status.js';
import type { MachineStatus, ParseProblem } from '../status/machine-status.js';
import { readSetStatuses } from '../status/status-io.js';
import type { Store } from '../store/store.js';
import type { SetContext } from './context.js';
import { runStep } from './step.js';

/** The gate's answer for this machine: go (with the slot it holds, if leases are used) or wait. */
export type GateOutcome =
  | { go: true; lease: Lease | null; rollout: RolloutRef }
  | { go: false; reason: ReasonName; detail: string; stalled: boolean; rollout: RolloutRef | null };

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

async function dependencies(ctx: SetContext): Promise<DependencyState[]> {
  const out: DependencyState[] = [];
  for (const name of ctx.set.rollout.dependsOn) {
    const dep = ctx.decls.sets.get(name);
    // Declaration rules refuse unknown dependsOn; a dependency without a store to read is not Ready.
    if (dep === undefined || ctx.coordination === null) continue;
    out.push({ set: name, desiredDigest: dep.closure, machines: membersOf(ctx.decls, dep), statuses: await readSetStatuses(ctx.coordination, name) });
  }
  return out;
}

/**
 * The budget and the slot holders the gate judges unreachable machines with. The slots are listed only when
 * some report read is silent: a rollout where every machine reports costs no extra request.
 */
async function unavailabilityOf(ctx: SetContext, coord: Store, plan: RolloutPlan, statuses: ReadonlyMap<string, MachineStatus | ParseProblem>, now: Date): Promise<Unavailability> {
  const { maxUnavailable, unreachableAfterMs } = ctx.set.rollout;
  const budget = unavailableBudget(maxUnavailable, plan.order.length);
  const anySilent = [...statuses.values()].some((s) => isSilent(s, plan.target, now, unreachableAfterMs));
  const held = anySilent ? (await listSlotLeases(coord, plan.set, plan.rolloutId)).filter((l) => l.state === 'held').map((l) => l.machine) : [];
  return { budget, afterMs: unreachableAfterMs, slotHolders: new Set(held) };
}

/**
 * Decides whether this machine may switch now, and takes a batch slot when the rollout uses leases.
 * Order of the fleet (DESIGN §6): earlier batches Ready on this digest, pause elapsed, a window open,
 * dependencies Ready, no quarantine beyond maxFailures; then a slot by create-if-absent in the store.
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
    const seen: SeenDone = new Map();
    const decide = async (): Promise<GateDecision> => {
      const quarantine = await readQuarantine(coord, set.name, set.closure);
      const now = ports.clock.now();
      const rule = { ...doneRule(ctx, plan, quarantine), now };
      const statuses = await readEarlierBatches(coord, plan, rollout.batch, rule, seen);
      return decideGate({
        plan,
        machine: machine.name,
        statuses,
        quarantine,
        settings,
        dependencies: await dependencies(ctx),
        overrideWindows: set.rollout.overrideWindows,
        now,
        staleAfterMs: ports.staleAfterMs,
        unavailability: await unavailabilityOf(ctx, coord, plan, statuses, now),
      });
    };
    // While the batch right before is working, keep deciding for a moment: its Ready is imminent.
    const decision = await followGate(decide, { clock: ports.clock, signal: ports.signal });
    if (!decision.allowed) return { go: false, reason: decision.reason, detail: decision.detail, stalled: decision.stalled, rollout };
    if (!decision.needsLease) return { go: true, lease: null, rollout };
    const lease = await acquireSlot({
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
    if (lease === null) return { go: false, reason: Reason.WaitingForSlot, detail: `every one of the ${decision.slots} slot(s) of rollout ${plan.rolloutId} is held`, stalled: false, rollout };
    return { go: true, lease, rollout: { ...rollout, token: lease.token } };
  });
}

/**
 * How many batches ahead of its turn a machine fetches and stages its closure. Fetching waits until every
 * batch before k − FETCH_LOOKAHEAD_BATCHES is done: a commit does not send the whole fleet to the store (and
 * its CPUs to hashing) at once, yet batch k's fetch overlaps the work of the batches just before it.
 */
export const FETCH_LOOKAHEAD_BATCHES = 2;

/** Null when this machine may fetch now; otherwise why it waits for its turn to come closer. */
export async function fetchTurn(ctx: SetContext, plan: RolloutPlan): Promise<string | null> {
  const { set, machine, ports } = ctx;
  const coord = ctx.coordination;
  if (coord === null || !ctx.coordinationSafe) return null;
  const batch = batchOf(plan, machine.name);
  const end = batch - FETCH_LOOKAHEAD_BATCHES;
  if (!plan.needsLeases || end <= 0) return null;
  return runStep(ctx.timings, ports.log, 'turn', { set: set.name, digest: set.closure }, async () => {
    const quarantine = await readQuarantine(coord, set.name, set.closure);
    const rule = { ...doneRule(ctx, plan, quarantine), now: ports.clock.now() };
    const behind = await firstNotDoneBefore(coord, plan, end, rule);
    if (behind === undefined) return null;
    return `batch ${behind.batch}: ${behind.machine} is not Ready on the target yet; batch ${batch} fetches ${set.closure} when batch ${end - 1} is done`;
  });
}
