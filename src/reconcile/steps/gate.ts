import { Reason } from '../../status/conditions.js';
import { passGate } from '../step-gate.js';
import { proceed, stopWith, type SetStep } from './set-run.js';

/**
 * Passes the rollout gate (earlier batches, pause, windows, dependencies, quarantine, then a slot) and
 * continues with what it granted. A store that cannot coordinate stops the set as failed; anything else
 * the gate refuses is a wait. Fails with the store's errors.
 */
export const passRolloutGate: SetStep = {
  name: 'gate',
  async run(run) {
    const gated = await passGate(run.ctx, run.plan);
    if (gated.go) return proceed({ ...run, granted: { lease: gated.lease, rollout: gated.rollout } });
    // A quarantine stalls the fleet, but this machine has done nothing wrong: it waits for a human.
    const result = gated.reason === Reason.CoordinationUnsafe ? 'failed' : 'waiting';
    return stopWith(run, { result, reason: gated.reason, message: gated.detail, stalled: gated.stalled, rollout: gated.rollout, ...(gated.followAgain ? { followAgain: true as const } : {}) });
  },
};
