import { findGeneration, readCurrent, readState, setPaths, type Generation } from '../generations/index.js';
import type { SetContext } from './context.js';
import { reasonForError } from './error-reason.js';
import type { SetOutcome } from './set-outcome.js';
import { setPlanOf } from '../rollout/set-plan.js';
import { outcomeBase, SET_STEPS, type SetRun, type SetStep } from './steps/index.js';

async function currentGeneration(ctx: SetContext): Promise<Generation | undefined> {
  const paths = setPaths(ctx.stateDir, ctx.set.name);
  const cur = await readCurrent(paths.current);
  return cur === undefined ? undefined : findGeneration(paths, cur.number);
}

/**
 * One set's part of a tick: reads the set's plan, current generation and state, then runs `steps`
 * (SET_STEPS: steps/index.ts) in order until one stops with the outcome. Never throws: every error becomes
 * a failed outcome with a reason constant, so one set cannot stop the others; a step list that ends
 * without an outcome is reported as an internal error.
 */
export async function convergeSet(ctx: SetContext, steps: readonly SetStep[] = SET_STEPS): Promise<SetOutcome> {
  let current: Generation | undefined;
  try {
    const plan = setPlanOf(ctx.decls, ctx.set, ctx.machine.name, ctx.trial === true);
    current = await currentGeneration(ctx);
    let run: SetRun = { ctx, plan, current, state: await readState(setPaths(ctx.stateDir, ctx.set.name).stateFile) };
    for (const step of steps) {
      const result = await step.run(run);
      if ('stop' in result) return result.stop;
      run = result.next;
    }
    throw new Error(`the steps of set ${ctx.set.name} ended without an outcome`);
  } catch (err) {
    const r = reasonForError(err);
    ctx.ports.log.error({ set: ctx.set.name, digest: ctx.set.closure, err: r.message }, 'set failed');
    return { ...outcomeBase(ctx, current), result: 'failed', reason: r.reason, message: r.message, stalled: r.stalled, rollout: null };
  }
}
