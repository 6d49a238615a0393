import { findGeneration, isBadIn, readCurrent, recordDesired, setPaths, type Generation } from '../generations/index.js';
import { readState } from '../generations/state-file.js';
import { batchOf, type RolloutPlan } from '../rollout/planner.js';
import { Reason } from '../status/conditions.js';
import type { RolloutRef } from '../status/machine-status.js';
import type { SetContext } from './context.js';
import { reasonForError } from './error-reason.js';
import { keepLease } from './keep-lease.js';
import type { SetOutcome } from './set-outcome.js';
import { setPlanOf } from '../rollout/set-plan.js';
import { applyGeneration } from './step-apply.js';
import { fetchAndStage } from './step-fetch-stage.js';
import { fetchTurn, passGate } from './step-gate.js';

/** The rollout this machine's report belongs to, for the set's desired digest. */
function rolloutRef(plan: RolloutPlan, machine: string): RolloutRef {
  return { id: plan.rolloutId, batch: batchOf(plan, machine) };
}

async function currentGeneration(ctx: SetContext): Promise<Generation | undefined> {
  const paths = setPaths(ctx.stateDir, ctx.set.name);
  const cur = await readCurrent(paths.current);
  return cur === undefined ? undefined : findGeneration(paths, cur.number);
}

/** Fetches, verifies and stages the set's closure, and remembers the generation for later ticks of this commit. */
async function stageAndRemember(ctx: SetContext): Promise<Generation> {
  const nowMs = ctx.ports.clock.monotonicMs();
  const staged = await fetchAndStage(ctx);
  ctx.staged.remember(ctx.set.name, ctx.set.closure, ctx.commit, staged.generation, nowMs);
  return staged.generation;
}

/**
 * One set's part of a tick: nothing to do when the desired digest is already active; otherwise refuse a
 * closure for another platform or one remembered as bad, fetch and verify, stage, pass the rollout gate,
 * and apply (switch, activate, health; roll back on failure). Never throws: every error becomes an
 * outcome with a reason constant, so one set cannot stop the others.
 */
export async function convergeSet(ctx: SetContext): Promise<SetOutcome> {
  const { set, machine } = ctx;
  let cur: Generation | undefined;
  const base = (): Pick<SetOutcome, 'set' | 'desired' | 'current' | 'generation'> => ({
    set: set.name, desired: set.closure, current: cur?.digest ?? null, generation: cur?.number ?? null,
  });
  try {
    const plan = setPlanOf(ctx.decls, set, machine.name);
    cur = await currentGeneration(ctx);
    const state = await readState(setPaths(ctx.stateDir, set.name).stateFile);
    if (cur?.digest === set.closure && state.active === cur.number && !state.pending) {
      return { ...base(), result: 'unchanged', reason: Reason.Succeeded, message: `generation ${cur.number} is active`, stalled: false, rollout: rolloutRef(plan, machine.name) };
    }
    if (set.platform !== machine.platform) {
      const message = `set ${set.name} declares platform ${set.platform}; this machine is ${machine.platform}: closure refused`;
      return { ...base(), result: 'failed', reason: Reason.VerificationFailed, message, stalled: true, rollout: null };
    }
    await recordDesired(ctx.stateDir, set.name, set.closure);
    if (isBadIn(state, set.closure, set.closure)) {
      const bad = state.bad[set.closure];
      const message = `${set.closure} failed here before (${bad?.reason ?? 'unknown'}); not retried until the desired digest changes or \`flotilla clear ${set.name}\``;
      return { ...base(), result: 'rolled-back', reason: Reason.RolledBack, message, stalled: true, rollout: rolloutRef(plan, machine.name) };
    }
    // Staged by an earlier tick of this commit, or fetched now, once this machine's turn is close.
    let generation = await ctx.staged.recall(set.name, set.closure, ctx.commit, ctx.ports.clock.monotonicMs());
    if (generation === undefined) {
      const notYet = await fetchTurn(ctx, plan);
      if (notYet !== null) return { ...base(), result: 'waiting', reason: Reason.WaitingForBatch, message: notYet, stalled: false, rollout: rolloutRef(plan, machine.name) };
      generation = await stageAndRemember(ctx);
    }
    const gate = await passGate(ctx, plan);
    if (!gate.go) {
      // A store that cannot coordinate is a configuration failure here; anything else the gate says is a wait
      // (a quarantine stalls the fleet, but this machine has done nothing wrong: it waits for a human).
      const result = gate.reason === Reason.CoordinationUnsafe ? 'failed' : 'waiting';
      return { ...base(), result, reason: gate.reason, message: gate.detail, stalled: gate.stalled, rollout: gate.rollout };
    }
    const keeper = keepLease(gate.lease, ctx.ports.log);
    let outcome: SetOutcome;
    try {
      outcome = await applyGeneration(ctx, generation, gate.rollout);
    } finally {
      keeper.stop();
      ctx.staged.forget(set.name);
    }
    // A healthy machine frees its slot; a failed one keeps it, so the batch stays blocked (DESIGN §6).
    if (outcome.result === 'converged' && gate.lease !== null) {
      await gate.lease.release().catch((err: unknown) => ctx.ports.log.warn({ set: set.name, err: (err as Error).message }, 'lease release failed'));
    }
    if (keeper.lost() && outcome.result === 'converged') {
      return { ...outcome, reason: Reason.Succeeded, message: `${outcome.message} (the lease was taken over while switching)` };
    }
    return outcome;
  } catch (err) {
    const r = reasonForError(err);
    ctx.ports.log.error({ set: set.name, digest: set.closure, err: r.message }, 'set failed');
    return { ...base(), result: 'failed', reason: r.reason, message: r.message, stalled: r.stalled, rollout: null };
  }
}
