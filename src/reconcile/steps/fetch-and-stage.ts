import { fetchAndStage } from '../step-fetch-stage.js';
import { proceed, type SetStep } from './set-run.js';

/**
 * Unless a generation is already known (recalled from StagedMemo), fetches and verifies the closure, stages
 * a generation for it, and remembers it for later ticks of this commit. Fails with fetch errors
 * (verification, integrity, transport) and stage errors; nothing is switched either way.
 */
export const fetchAndStageClosure: SetStep = {
  name: 'fetch-and-stage',
  async run(run) {
    if (run.generation !== undefined) return proceed(run);
    const { ctx } = run;
    const nowMs = ctx.ports.clock.monotonicMs();
    const { generation } = await fetchAndStage(ctx);
    ctx.staged.remember(ctx.set.name, ctx.set.closure, ctx.commit, generation, nowMs);
    return proceed({ ...run, generation });
  },
};
