import type { EventKind } from '../declarations/types.js';
import { raiseEvent, type RaisedEvent } from '../notify/index.js';
import { batchOf } from '../rollout/planner.js';
import { setPlanOf } from '../rollout/set-plan.js';
import { Reason } from '../status/conditions.js';
import type { RolloutRef } from '../status/machine-status.js';
import type { SetContext } from './context.js';
import type { SetOutcome } from './set-outcome.js';

type Draft = Omit<RaisedEvent, 'set' | 'digest' | 'commit' | 'sender' | 'rollout'> & { kind: EventKind };

/**
 * Puts the events `outcome` stands for into this machine's outbox (src/notify/): a converged machine its
 * batch's readiness (and the rollout's, in the last batch), a rolled-back one its failure and the digest's
 * quarantine, a stalled one the stall. Only with receivers declared and a coordination store that passed
 * the probe (the fleet-wide claim needs create-if-absent). Never throws: a notification problem is logged
 * and changes no outcome.
 */
export async function raiseOutcomeEvents(ctx: SetContext, outcome: SetOutcome): Promise<void> {
  if (outcome.result === 'unchanged' || outcome.result === 'waiting') return;
  const plan = setPlanOf(ctx.decls, ctx.set, ctx.machine.name, ctx.trial === true);
  // A set that failed before the gate reports no rollout: its stall still belongs to the desired closure's.
  const rollout = outcome.rollout ?? { id: plan.rolloutId, batch: Math.max(0, batchOf(plan, ctx.machine.name)) };
  const drafts: Draft[] = [];
  if (outcome.result === 'converged') {
    const machines = plan.batches[rollout.batch] ?? [ctx.machine.name];
    const readyCheck = { machines, target: ctx.set.closure };
    drafts.push({ kind: 'batch-ready', batch: rollout.batch, readyCheck });
    if (rollout.batch === plan.batches.length - 1) drafts.push({ kind: 'rollout-converged', readyCheck });
  } else if (outcome.result === 'rolled-back' && outcome.reason !== Reason.RolledBack) {
    // Reason RolledBack is the remembered failure of an earlier tick, already raised then.
    drafts.push({ kind: 'machine-rolled-back', machine: ctx.machine.name, batch: rollout.batch, reason: outcome.reason, message: outcome.message });
    drafts.push({ kind: 'digest-quarantined', reason: outcome.reason, message: outcome.message });
  } else if (outcome.result === 'failed' && outcome.stalled) {
    drafts.push({ kind: 'agent-stalled', machine: ctx.machine.name, reason: outcome.reason, message: outcome.message });
  }
  for (const d of drafts) await raise(ctx, rollout, d);
}

/** Raises rollout-started for a machine of the first batch that was just granted its slot. Never throws. */
export async function raiseRolloutStarted(ctx: SetContext, rollout: RolloutRef): Promise<void> {
  if (rollout.batch !== 0) return;
  await raise(ctx, rollout, { kind: 'rollout-started' });
}

async function raise(ctx: SetContext, rollout: RolloutRef, d: Draft): Promise<void> {
  const receivers = ctx.decls.config.receivers;
  if (receivers.length === 0 || ctx.coordination === null || !ctx.coordinationSafe) return;
  // batch-ready events carry the batch in their id; for the others it is context only.
  const { batch, ...rest } = d;
  const event: RaisedEvent = {
    ...rest,
    ...(batch !== undefined && d.kind === 'batch-ready' ? { batch } : {}),
    set: ctx.set.name, digest: ctx.set.closure, commit: ctx.commit, sender: ctx.machine.name, rollout: rollout.id,
  };
  try {
    const added = await raiseEvent(ctx.stateDir, { receivers, coordination: ctx.coordination.url, now: ctx.ports.clock.now() }, event);
    if (added) ctx.ports.log.info({ set: ctx.set.name, kind: d.kind }, 'notification event raised');
  } catch (err) {
    ctx.ports.log.warn({ set: ctx.set.name, kind: d.kind, err: (err as Error).message }, 'could not raise a notification event');
  }
}
