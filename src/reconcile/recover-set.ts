import { ActivationError, HealthCheckError, LeaseError } from '../errors/index.js';
import { commitSwitch, recoverPending, rollbackTo, type Generation } from '../generations/index.js';
import { Reason } from '../status/conditions.js';
import { recordedRunner } from './activation-runner.js';
import type { SetContext } from './context.js';
import { keepLease } from './keep-lease.js';
import { recoverSlot } from './recover-lease.js';
import type { SetOutcome } from './set-outcome.js';
import { noteHistory } from './note-history.js';
import { previousActive, rollBack } from './step-apply.js';
import { runStep } from './step.js';

/**
 * Startup recovery of one set (once per agent process): after a crash, `current` and state.json are made
 * to agree. A switch whose link already moved is finished under the batch slot the crashed process held
 * (adopted by CAS, renewed through activation and health, released when healthy, kept on failure): it is
 * committed, or rolled back, marked bad and quarantined like a failure in a normal tick. Without any slot
 * to be had, the switch is undone instead (no bad mark: the digest did nothing wrong) and the next tick
 * queues at the gate. A switch that never took effect is undone, and the generation left current is
 * re-activated, because the crashed process may have started something else meanwhile. With nothing
 * pending, a slot this machine still holds for the digest it now runs is released.
 * Returns the outcome to report for this tick instead of converging (a rollback, or a slot lost while
 * finishing) when it concerns the desired digest, else null. Fails with the state dir's and the store's
 * errors; the caller retries on the next tick.
 */
export async function recoverSet(ctx: SetContext): Promise<SetOutcome | null> {
  const { set, ports } = ctx;
  return runStep(ctx.timings, ports.log, 'recover', { set: set.name }, async () => {
    const found = await recoverPending(ctx.stateDir, set.name);
    if (found.action === 'undo' && found.needsActivation && found.generation) await recordedRunner(set.name, found.generation, ports.runner).activate(found.generation, undefined);
    if (found.action === 'none' && found.generation?.digest === set.closure) await releaseLeftoverSlot(ctx);
    if (found.action !== 'finish') return null;
    ports.log.warn({ set: set.name, generation: found.generation.number }, 'finishing a switch interrupted by a crash');
    const outcome = await finishSwitch(ctx, found.generation);
    return outcome !== null && found.generation.digest === set.closure ? outcome : null;
  });
}

async function finishSwitch(ctx: SetContext, gen: Generation): Promise<SetOutcome | null> {
  const { set, ports } = ctx;
  const slot = await recoverSlot(ctx, gen.digest, { ownOnly: false });
  if (slot === 'no-slot') {
    ports.log.warn({ set: set.name, generation: gen.number }, 'no batch slot for the interrupted switch: undoing it; the next tick queues at the gate');
    await rollbackTo({ stateDir: ctx.stateDir, set: set.name, activate: async (g) => recordedRunner(set.name, g, ports.runner).activate(g, undefined) });
    return null;
  }
  const keeper = keepLease(slot.lease, ports.log);
  const run = recordedRunner(set.name, gen, ports.runner);
  try {
    const previous = await previousActive(ctx);
    await run.activate(gen, undefined);
    await run.health(gen, undefined);
    await commitSwitch(ctx.stateDir, set.name);
    await noteHistory(ctx, { event: 'switch', from: previous?.digest ?? null, to: gen.digest, generation: gen.number, reason: Reason.Succeeded, message: `generation ${gen.number} active and healthy (a switch interrupted by a crash, finished)` });
  } catch (err) {
    if (!(err instanceof ActivationError || err instanceof HealthCheckError)) throw err;
    // A failed machine keeps its slot: the batch stays blocked, as after a failure in a normal tick.
    return rollBack(ctx, gen, slot.rollout, err);
  } finally {
    keeper.stop();
  }
  let lost = keeper.lost();
  if (!lost && slot.lease !== null) {
    lost = await slot.lease.release().then(
      () => false,
      (err: unknown) => {
        if (err instanceof LeaseError) return true;
        ports.log.warn({ set: set.name, err: (err as Error).message }, 'lease release failed');
        return false;
      },
    );
  }
  if (!lost) return null;
  const message = `generation ${gen.number} active and healthy after a crash, but the batch slot was lost while finishing the switch: not reported Ready until the next tick`;
  return { set: set.name, desired: set.closure, current: gen.digest, generation: gen.number, result: 'failed', reason: Reason.LeaseLost, message, stalled: false, rollout: slot.rollout };
}

/** A holder killed after committing but before releasing: give its slot back now instead of after a TTL. */
async function releaseLeftoverSlot(ctx: SetContext): Promise<void> {
  const slot = await recoverSlot(ctx, ctx.set.closure, { ownOnly: true });
  if (slot === 'no-slot' || slot.lease === null) return;
  await slot.lease.release();
  ctx.ports.log.info({ set: ctx.set.name, slot: slot.lease.key }, 'released the batch slot a crashed process of this machine left held');
}
