import type { Lease } from '../../rollout/lease.js';
import { rolloutIdFor } from '../../rollout/planner.js';
import { withdrawReadyMarker } from '../../rollout/ready-marker.js';
import { Reason } from '../../status/conditions.js';
import { passGate } from '../step-gate.js';
import { proceed, stopWith, type SetRun, type SetStep } from './set-run.js';

/**
 * Before a machine switches away from the digest it runs, its Ready marker of that digest's rollout goes:
 * the same digest rolled out again later has the same rollout id, and its gate must not count this machine
 * done on a marker it left while it ran another. A failed delete gives the slot back and fails the step
 * (nothing was switched).
 */
async function withdrawMarkerOfCurrent(run: SetRun, lease: Lease | null): Promise<void> {
  const { ctx, current } = run;
  if (ctx.coordination === null || current === undefined || current.digest === ctx.set.closure) return;
  try {
    await withdrawReadyMarker(ctx.coordination, ctx.set.name, rolloutIdFor(ctx.set.name, current.digest), ctx.machine.name);
  } catch (err) {
    await lease?.release().catch(() => undefined);
    throw err;
  }
}

/**
 * Passes the rollout gate (earlier batches, pause, windows, dependencies, quarantine, then a slot) and
 * continues with what it granted. A store that cannot coordinate stops the set as failed; anything else
 * the gate refuses is a wait. Fails with the store's errors.
 */
export const passRolloutGate: SetStep = {
  name: 'gate',
  async run(run) {
    const gated = await passGate(run.ctx, run.plan);
    if (gated.go) {
      await withdrawMarkerOfCurrent(run, gated.lease);
      return proceed({ ...run, granted: { lease: gated.lease, rollout: gated.rollout } });
    }
    // A quarantine stalls the fleet, but this machine has done nothing wrong: it waits for a human.
    const result = gated.reason === Reason.CoordinationUnsafe ? 'failed' : 'waiting';
    return stopWith(run, { result, reason: gated.reason, message: gated.detail, stalled: gated.stalled, rollout: gated.rollout, ...(gated.followAgain ? { followAgain: true as const } : {}), ...(gated.followAfterMs !== undefined ? { followAfterMs: gated.followAfterMs } : {}) });
  },
};
