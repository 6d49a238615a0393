import { Reason } from '../../status/conditions.js';
import { keepLease } from '../keep-lease.js';
import type { SetOutcome } from '../set-outcome.js';
import { applyGeneration } from '../step-apply.js';
import { required, type SetStep } from './set-run.js';

/**
 * Switches to the staged generation and proves it (applyGeneration: activation, health, rollback on
 * failure) while renewing the gate's lease, then always stops with the result. A healthy machine releases
 * its slot; a failed one keeps it so the batch stays blocked (DESIGN §6). A lease taken over meanwhile is
 * reported in the message. Fails with disk and lock errors from the switch (recovery finishes it).
 */
export const switchAndProve: SetStep = {
  name: 'apply',
  async run(run) {
    const { ctx } = run;
    const generation = required(run, 'generation', 'apply');
    const { lease, rollout } = required(run, 'granted', 'apply');
    const keeper = keepLease(lease, ctx.ports.log);
    let outcome: SetOutcome;
    try {
      outcome = await applyGeneration(ctx, generation, rollout);
    } finally {
      keeper.stop();
      ctx.staged.forget(ctx.set.name);
    }
    if (outcome.result === 'converged' && lease !== null) {
      await lease.release().catch((err: unknown) => ctx.ports.log.warn({ set: ctx.set.name, err: (err as Error).message }, 'lease release failed'));
    }
    if (keeper.lost() && outcome.result === 'converged') {
      return { stop: { ...outcome, reason: Reason.Succeeded, message: `${outcome.message} (the lease was taken over while switching)` } };
    }
    return { stop: outcome };
  },
};
