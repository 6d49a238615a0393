import { HealthCheckError, ActivationError } from '../errors/index.js';
import { commitSwitch, recoverPending, rollbackTo } from '../generations/index.js';
import { recordedRunner } from './activation-runner.js';
import type { SetContext } from './context.js';
import { runStep } from './step.js';

/**
 * Startup recovery of one set (once per agent process): after a crash, `current` and state.json are made
 * to agree. A switch whose link already moved is finished by re-running activation and health, then
 * committed, or rolled back and marked bad; a switch that never took effect is undone, and the generation
 * left current is re-activated, because the crashed process may have started something else meanwhile.
 */
export async function recoverSet(ctx: SetContext): Promise<void> {
  const { set, ports } = ctx;
  await runStep(ctx.timings, ports.log, 'recover', { set: set.name }, async () => {
    const found = await recoverPending(ctx.stateDir, set.name);
    if (found.action === 'undo' && found.needsActivation && found.generation) await recordedRunner(set.name, found.generation, ports.runner).activate(found.generation, undefined);
    if (found.action !== 'finish') return;
    ports.log.warn({ set: set.name, generation: found.generation.number }, 'finishing a switch interrupted by a crash');
    const run = recordedRunner(set.name, found.generation, ports.runner);
    try {
      await run.activate(found.generation, undefined);
      await run.health(found.generation, undefined);
      await commitSwitch(ctx.stateDir, set.name);
    } catch (err) {
      if (!(err instanceof ActivationError || err instanceof HealthCheckError)) throw err;
      await rollbackTo({
        stateDir: ctx.stateDir,
        set: set.name,
        bad: { reason: `${err.code}: ${err.message}`, desiredDigest: set.closure, desiredCommit: ctx.commit },
        activate: async (g) => recordedRunner(set.name, g, ports.runner).activate(g, undefined),
      });
    }
  });
}
