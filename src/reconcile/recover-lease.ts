import { acquireSlot, type Lease } from '../rollout/lease.js';
import { batchOf } from '../rollout/planner.js';
import { setPlanOf } from '../rollout/set-plan.js';
import type { RolloutRef } from '../status/machine-status.js';
import type { ClosureRef } from '../store/closure-ref.js';
import type { SetContext } from './context.js';

/** A slot taken back after a restart: the lease (null when the rollout uses none) and the rollout to report. */
export interface RecoveredSlot {
  lease: Lease | null;
  rollout: RolloutRef;
}

/**
 * Takes back the batch slot of the rollout to `digest` for a switch a crashed process of this machine
 * began: the slot our machine still holds is adopted by CAS over its etag (a new holder and fencing
 * token); with `ownOnly: false`, a free slot is taken when ours is gone (it expired and was taken, or an
 * operator unlocked it). Returns the lease (null without coordination or leases), or `'no-slot'` when no
 * slot could be had. Never waits. Fails with the store's errors and LeaseError from the token counter.
 */
export async function recoverSlot(ctx: SetContext, digest: ClosureRef, options: { ownOnly: boolean }): Promise<RecoveredSlot | 'no-slot'> {
  const { set, machine, ports } = ctx;
  const plan = setPlanOf(ctx.decls, { ...set, closure: digest }, machine.name, ctx.trial === true && digest === set.closure);
  const rollout: RolloutRef = { id: plan.rolloutId, batch: batchOf(plan, machine.name) };
  const coord = ctx.coordination;
  if (coord === null || !ctx.coordinationSafe || !plan.needsLeases) return { lease: null, rollout };
  const lease = await acquireSlot({
    store: coord,
    set: set.name,
    rollout: plan.rolloutId,
    slots: plan.capacity,
    machine: machine.name,
    holder: ports.holder,
    digest,
    ttlMs: set.rollout.leaseTtlMs,
    clock: ports.clock,
    observations: ports.observer,
    preferredSlot: Math.max(0, plan.batches[rollout.batch]?.indexOf(machine.name) ?? 0),
    ownOnly: options.ownOnly,
  });
  if (lease === null) return 'no-slot';
  return { lease, rollout: { ...rollout, token: lease.token } };
}
