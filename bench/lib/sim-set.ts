// One set's reconcile inside a simulated tick: the real steps that talk to the shared parts (the fetch turn,
// the gate with its leases, the lease keeper and release: src/reconcile/step-gate.ts, keep-lease.ts,
// src/rollout/*), in the order of SET_STEPS (src/reconcile/steps/index.ts). What happens on the machine's own
// disk (stage, switch, activate, health) is replaced by its duration on the simulated clock; the closure
// fetch by its store requests (GETs, counted, with their round trips).
import type { SetContext } from '../../src/reconcile/context.js';
import { keepLease } from '../../src/reconcile/keep-lease.js';
import type { SetOutcome } from '../../src/reconcile/set-outcome.js';
import { STAGED_MEMO_MAX_AGE_MS } from '../../src/reconcile/staged-memo.js';
import { fetchTurn, passGate } from '../../src/reconcile/step-gate.js';
import { batchOf, rolloutIdFor, type RolloutPlan } from '../../src/rollout/planner.js';
import { withdrawReadyMarker } from '../../src/rollout/ready-marker.js';
import { Reason } from '../../src/status/conditions.js';
import type { ClosureRef } from '../../src/store/closure-ref.js';
import type { SimClock } from './sim-clock.js';

/** What a simulated machine keeps of one set between ticks (its state dir and StagedMemo, in memory). */
export interface SimSetState {
  current: ClosureRef | null;
  /** The staged closure of an earlier tick: digest, commit, when (StagedMemo's rule: same digest and commit, younger than its max age). */
  staged?: { digest: ClosureRef; commit: string; atMs: number } | undefined;
}

/** How long a simulated machine's own work takes, and what its closure fetch costs the store. */
export interface SimWork {
  /** Activation plus health, ms. */
  activationMs: number;
  /** GETs of one closure fetch (manifest, signature, objects not cached). */
  fetchGets: number;
  /** A switch's other steps after the gate (fences, switch, commit, reports), ms; none unless measured ones are given. */
  afterGateMs?: number;
  /**
   * Runs the fetch turn's and the gate's decisions (their follow loops included); scale-real's replays give
   * them the agents' measured round trip per decision request, the time no tick draw holds (rollout-ticks.ts).
   */
  decisions?: <T>(decide: () => Promise<T>) => Promise<T>;
}

const run = <T>(decide: () => Promise<T>): Promise<T> => decide();

/** Reconciles `ctx.set` on a simulated machine; the outcome its report is built from. Store errors propagate. */
export async function convergeSimSet(ctx: SetContext, plan: RolloutPlan, state: SimSetState, work: SimWork, clock: SimClock): Promise<SetOutcome> {
  const { set } = ctx;
  const rollout = { id: plan.rolloutId, batch: batchOf(plan, ctx.machine.name) };
  const base = { set: set.name, desired: set.closure, current: state.current, generation: state.current === null ? null : 1 };
  // stopIfCurrent
  if (state.current === set.closure) return { ...base, result: 'unchanged', reason: Reason.Succeeded, message: 'generation 1 is active', stalled: false, rollout };
  // stagedOrFetchTurn, then fetchAndStageClosure
  const s = state.staged;
  const staged = s !== undefined && s.digest === set.closure && s.commit === ctx.commit && clock.monotonicMs() - s.atMs < STAGED_MEMO_MAX_AGE_MS;
  if (!staged) {
    const notYet = await (work.decisions ?? run)(() => fetchTurn(ctx, plan));
    if (notYet !== null) return { ...base, result: 'waiting', reason: Reason.WaitingForBatch, message: notYet.detail, stalled: false, rollout, ...(notYet.followAfterMs !== undefined ? { followAfterMs: notYet.followAfterMs } : {}) };
    const at = clock.monotonicMs();
    for (let i = 0; i < work.fetchGets; i++) await ctx.coordination?.getBytes(`closures/sim/${set.closure}/${i}`, { maxBytes: 1 << 20 }).catch(() => undefined);
    state.staged = { digest: set.closure, commit: ctx.commit, atMs: at };
  }
  // passRolloutGate
  const gated = await (work.decisions ?? run)(() => passGate(ctx, plan));
  if (!gated.go) {
    const result = gated.reason === Reason.CoordinationUnsafe ? 'failed' : 'waiting';
    return { ...base, result, reason: gated.reason, message: gated.detail, stalled: gated.stalled, rollout: gated.rollout, ...(gated.followAgain === true ? { followAgain: true as const } : {}), ...(gated.followAfterMs !== undefined ? { followAfterMs: gated.followAfterMs } : {}) };
  }
  // steps/gate.ts: the marker of the digest it runs goes before it switches away from it.
  if (state.current !== null && ctx.coordination !== null) await withdrawReadyMarker(ctx.coordination, set.name, rolloutIdFor(set.name, state.current), ctx.machine.name);
  // switchAndProve: fence the switch (a simulated set has no drain command, so no drain fence), activate and
  // check health while the keeper renews, release.
  const keeper = keepLease(gated.lease, ctx.ports.log, clock);
  try {
    await keeper.confirm();
    await clock.sleep(work.activationMs + (work.afterGateMs ?? 0));
  } finally {
    keeper.stop();
    state.staged = undefined;
  }
  await gated.lease?.release();
  state.current = set.closure;
  return { ...base, current: set.closure, generation: 2, result: 'converged', reason: Reason.Succeeded, message: 'generation 2 active and healthy', stalled: false, rollout: gated.rollout };
}
