import { LeaseError } from '../../errors/index.js';
import type { Lease } from '../../rollout/lease.js';
import { Reason } from '../../status/conditions.js';
import { keepLease } from '../keep-lease.js';
import type { SetOutcome } from '../set-outcome.js';
import { applyGeneration } from '../step-apply.js';
import { required, stopWith, type SetRun, type SetStep } from './set-run.js';

/**
 * Switches to the staged generation and proves it (applyGeneration: activation, health, rollback on
 * failure) while renewing the gate's lease, then always stops with the result. The drain and the switch
 * each start only after a CAS renewal proved the slot still ours: a slot lost before that stops the set
 * (waiting, LeaseLost) with nothing switched. A slot lost after the switch (the agent was paused past the
 * TTL mid-activation) is never reported Succeeded: the healthy generation stays, the report says
 * LeaseLost, and the next tick finds it current. A healthy machine releases its slot (the release, a CAS,
 * is the last proof it still held it); a failed one keeps it so the batch stays blocked (DESIGN §6).
 * Fails with disk and lock errors from the switch (recovery finishes it).
 */
export const switchAndProve: SetStep = {
  name: 'apply',
  async run(run) {
    const { ctx } = run;
    const generation = required(run, 'generation', 'apply');
    const { lease, rollout } = required(run, 'granted', 'apply');
    const keeper = keepLease(lease, ctx.ports.log, ctx.ports.clock);
    let outcome: SetOutcome;
    try {
      outcome = await applyGeneration(ctx, generation, rollout, keeper);
    } catch (err) {
      if (!(err instanceof LeaseError)) throw err;
      const message = `the batch slot was lost before switching, nothing was switched: ${err.message}`;
      return stopWith(run, { result: 'waiting', reason: Reason.LeaseLost, message, stalled: false, rollout });
    } finally {
      keeper.stop();
      ctx.staged.forget(ctx.set.name);
    }
    const lostWhileSwitching = keeper.lost() || (outcome.result === 'converged' && !(await released(run, lease)));
    if (lostWhileSwitching && outcome.result === 'converged') {
      const message = `${outcome.message}, but the batch slot was lost while switching (paused past the lease TTL?): not reported Ready until the next tick`;
      return { stop: { ...outcome, result: 'failed', reason: Reason.LeaseLost, message, stalled: false } };
    }
    if (lostWhileSwitching) return { stop: { ...outcome, message: `${outcome.message} (the batch slot was lost while switching)` } };
    return { stop: outcome };
  },
};

/** Releases the slot; false only when the release proved it was no longer ours (a store error is logged). */
async function released(run: SetRun, lease: Lease | null): Promise<boolean> {
  if (lease === null) return true;
  try {
    await lease.release();
    return true;
  } catch (err) {
    if (err instanceof LeaseError) return false;
    run.ctx.ports.log.warn({ set: run.ctx.set.name, err: (err as Error).message }, 'lease release failed');
    return true;
  }
}
