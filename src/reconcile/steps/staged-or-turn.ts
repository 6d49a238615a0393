import { Reason } from '../../status/conditions.js';
import { fetchTurn } from '../step-gate.js';
import { proceed, rolloutRefOf, stopWith, type SetStep } from './set-run.js';

/**
 * Continues with the generation an earlier tick of this commit staged (StagedMemo), or, when there is none,
 * waits (WaitingForBatch) until this machine's turn to fetch is close (fetchTurn). Fails with the store's
 * errors when reading the batches before it.
 */
export const stagedOrFetchTurn: SetStep = {
  name: 'staged-or-fetch-turn',
  async run(run) {
    const { ctx } = run;
    const generation = await ctx.staged.recall(ctx.set.name, ctx.set.closure, ctx.commit, ctx.ports.clock.monotonicMs());
    if (generation !== undefined) return proceed({ ...run, generation });
    const notYet = await fetchTurn(ctx, run.plan);
    if (notYet === null) return proceed(run);
    const later = notYet.followAfterMs !== undefined ? { followAfterMs: notYet.followAfterMs } : {};
    return stopWith(run, { result: 'waiting', reason: Reason.WaitingForBatch, message: notYet.detail, stalled: false, rollout: rolloutRefOf(run), ...later });
  },
};
