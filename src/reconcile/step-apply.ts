import { ActivationError, FlotillaError, HealthCheckError } from '../errors/index.js';
import { commitSwitch, findGeneration, rollbackTo, setPaths, setPendingPhase, switchGeneration, withSetLock, type Generation } from '../generations/index.js';
import { readState } from '../generations/state-file.js';
import { writeQuarantine } from '../rollout/quarantine.js';
import { Reason } from '../status/conditions.js';
import type { RolloutRef } from '../status/machine-status.js';
import { activationRunner, recordedRunner, type ActivationPlan } from './activation-runner.js';
import type { SetContext } from './context.js';
import type { LeaseKeeper } from './keep-lease.js';
import { noteHistory } from './note-history.js';
import type { SetOutcome } from './set-outcome.js';
import { runStep } from './step.js';

/** The activation the set declares now: what a new generation is started with. */
export function planOf(ctx: SetContext): ActivationPlan {
  const activation = ctx.set.activate;
  const health = ctx.set.health;
  return { set: ctx.set.name, runner: ctx.ports.runner, ...(activation ? { activation } : {}), ...(health ? { health } : {}) };
}

/** The generation state.json records as active (what a switch now in progress leaves), if any. */
export async function previousActive(ctx: SetContext): Promise<Generation | undefined> {
  const paths = setPaths(ctx.stateDir, ctx.set.name);
  const state = await readState(paths.stateFile);
  return state.active === undefined ? undefined : findGeneration(paths, state.active);
}

function failureReason(err: unknown): { reason: typeof Reason.HealthCheckFailed | typeof Reason.ActivationFailed; message: string } {
  if (err instanceof HealthCheckError) return { reason: Reason.HealthCheckFailed, message: err.message };
  return { reason: Reason.ActivationFailed, message: err instanceof Error ? err.message : String(err) };
}

/**
 * Switches the set to `gen` under the set lock and proves it: drain, switch (pending marker first),
 * activate, health, commit, undrain. The drain and the switch each start only after `fence.confirm()`
 * proved by a CAS write that the batch slot is still ours: a holder paused past its TTL never drains or
 * switches on a slot somebody else now holds. On an activation or health failure it rolls back to the
 * previously active generation (re-running that generation's activation), records the digest as bad for
 * this desired digest, and, when coordinating, writes the quarantine marker so the fleet stops.
 * Throws LeaseError only before the switch (nothing changed; a drain already done is undone). Other errors
 * (disk, lock) propagate: nothing was committed and recovery handles a pending switch.
 */
export async function applyGeneration(ctx: SetContext, gen: Generation, rollout: RolloutRef, fence: Pick<LeaseKeeper, 'confirm'>): Promise<SetOutcome> {
  const { set, ports } = ctx;
  const run = activationRunner(planOf(ctx));
  const fields = { set: set.name, digest: set.closure, generation: gen.number };
  const step = <T>(name: string, fn: () => Promise<T>): Promise<T> => runStep(ctx.timings, ports.log, name, fields, fn);
  const swp = { ...(ports.crash ? { crash: ports.crash } : {}), now: () => ports.clock.now() };
  return withSetLock(ctx.stateDir, set.name, async () => {
    const previous = await previousActive(ctx);
    // Draining takes capacity away from the service, as the switch does: it is fenced the same way. Without a
    // drain command there is nothing to fence until the switch, whose own fence follows at once: one CAS write
    // less per machine, in the very second a batch starts (the store's busiest, docs/rollouts.md "Sizing").
    if (ctx.set.activate?.drain !== undefined) {
      await step('fence-drain', () => fence.confirm());
      await step('drain', () => run.drain(gen));
    }
    try {
      await step('fence-switch', () => fence.confirm());
    } catch (err) {
      await run.undrain(gen).catch((e: unknown) => ports.log.warn({ set: set.name, err: (e as Error).message }, 'undrain after a lost slot failed'));
      throw err;
    }
    await step('switch', () => switchGeneration(ctx.stateDir, set.name, gen.number, swp));
    try {
      await setPendingPhase(ctx.stateDir, set.name, 'activating', swp);
      await step('activate', () => run.activate(gen, previous));
      await setPendingPhase(ctx.stateDir, set.name, 'health', swp);
      await step('health', () => run.health(gen, previous));
    } catch (err) {
      if (!(err instanceof ActivationError || err instanceof HealthCheckError)) throw err;
      return rollBack(ctx, gen, rollout, err);
    }
    await step('commit', () => commitSwitch(ctx.stateDir, set.name, swp));
    await noteHistory(ctx, { event: 'switch', from: previous?.digest ?? null, to: gen.digest, generation: gen.number, reason: Reason.Succeeded, message: `generation ${gen.number} active and healthy` });
    await step('undrain', () => run.undrain(gen));
    return {
      set: set.name, desired: set.closure, current: gen.digest, generation: gen.number, result: 'converged',
      reason: Reason.Succeeded, message: `generation ${gen.number} active and healthy`, stalled: false, rollout,
    };
  });
}

/**
 * Rolls a failed switch to `gen` back (the last known good generation, re-activated and health-checked),
 * marks gen's digest bad under the desired digest, and, when coordinating, quarantines gen's digest for
 * the fleet. Used by a normal tick and by crash recovery alike, so the fleet learns of the failure either
 * way. Returns the rolled-back outcome carrying `cause`'s reason. Fails with the state dir's and the
 * store's errors.
 */
export async function rollBack(ctx: SetContext, gen: Generation, rollout: RolloutRef | null, cause: FlotillaError): Promise<SetOutcome> {
  const { set, ports } = ctx;
  const run = activationRunner(planOf(ctx));
  const { reason, message } = failureReason(cause);
  const fields = { set: set.name, digest: set.closure, generation: gen.number };
  const result = await runStep(ctx.timings, ports.log, 'rollback', fields, () =>
    rollbackTo({
      stateDir: ctx.stateDir,
      set: set.name,
      bad: { reason: `${reason}: ${message}`, desiredDigest: set.closure, desiredCommit: ctx.commit },
      activate: async (target) => recordedRunner(set.name, target, ports.runner).activate(target, undefined),
      ...(ports.crash ? { crash: ports.crash } : {}),
      now: () => ports.clock.now(),
    }),
  );
  await noteHistory(ctx, { event: 'rollback', from: gen.digest, to: result.generation?.digest ?? null, generation: result.generation?.number ?? null, reason, message });
  // The restored generation must prove itself too: report (not hide) a machine whose old version is also sick.
  let restored = '';
  if (result.generation) {
    const back = result.generation;
    await runStep(ctx.timings, ports.log, 'health-restored', { ...fields, generation: back.number }, () => recordedRunner(set.name, back, ports.runner).health(back, undefined)).catch((err: unknown) => {
      restored = `; the restored generation ${back.number} is unhealthy too: ${(err as Error).message}`;
    });
    await run.undrain(back).catch((err: unknown) => ports.log.warn({ set: set.name, err: (err as Error).message }, 'undrain after rollback failed'));
  }
  if (ctx.coordination !== null && ctx.coordinationSafe) {
    await writeQuarantine(ctx.coordination, set.name, gen.digest, { machine: ctx.machine.name, reason, message: message.slice(0, 2000), time: ports.clock.now().toISOString() });
    await noteHistory(ctx, { event: 'quarantine', from: gen.digest, to: result.generation?.digest ?? null, generation: result.generation?.number ?? null, reason: Reason.Quarantined, message: `${reason}: ${message}` });
  }
  const where = result.currentUnset ? 'first deployment failed: no generation is current' : `rolled back to generation ${result.generation?.number ?? '?'}`;
  return {
    set: set.name, desired: set.closure, current: result.generation?.digest ?? null, generation: result.generation?.number ?? null,
    result: 'rolled-back', reason, message: `${message}; ${where}${restored}; ${gen.digest} will not be retried until the desired digest changes`,
    stalled: true, rollout,
  };
}
