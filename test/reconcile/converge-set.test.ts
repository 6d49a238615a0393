import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { convergeSet } from '../../src/reconcile/converge-set.js';
import { SET_STEPS, proceed, stopWith, type SetStep } from '../../src/reconcile/steps/index.js';
import { Reason } from '../../src/status/conditions.js';
import { createSetWorld, type SetWorld } from './set-world.js';

let world: SetWorld;
beforeEach(async () => (world = await createSetWorld()));
afterEach(async () => world.cleanup());

const waitStep = (name: string, seen: string[]): SetStep => ({
  name,
  run: (run) => {
    seen.push(name);
    return Promise.resolve(stopWith(run, { result: 'waiting', reason: Reason.WaitingForBatch, message: `stopped by ${name}`, stalled: false, rollout: null }));
  },
});
const passStep = (name: string, seen: string[]): SetStep => ({ name, run: (run) => (seen.push(name), Promise.resolve(proceed(run))) });
const throwStep = (name: string, err: Error): SetStep => ({ name, run: () => Promise.reject(err) });

describe('convergeSet: the step loop', () => {
  it('lists the steps in the documented order', () => {
    expect(SET_STEPS.map((s) => s.name)).toEqual([
      'already-current', 'check-platform', 'record-desired', 'refuse-remembered-bad', 'hold-before-fetch', 'staged-or-fetch-turn', 'fetch-and-stage', 'hold-before-gate', 'gate', 'announce-rollout-start', 'apply',
    ]);
  });

  it.each([
    { name: 'the first stop ends the set; later steps do not run', steps: (s: string[]) => [passStep('a', s), waitStep('b', s), passStep('c', s)], ran: ['a', 'b'], result: 'waiting', reason: Reason.WaitingForBatch },
    { name: 'a step that throws a plain error is an internal error', steps: (s: string[]) => [passStep('a', s), throwStep('b', new Error('boom')), passStep('c', s)], ran: ['a'], result: 'failed', reason: Reason.InternalError },
    { name: 'a list that ends without a stop is an internal error, not a silent success', steps: (s: string[]) => [passStep('a', s)], ran: ['a'], result: 'failed', reason: Reason.InternalError },
  ])('$name', async ({ steps, ran, result, reason }) => {
    const seen: string[] = [];
    const ctx = world.context({ closure: await world.push('v1') });
    const outcome = await convergeSet(ctx, steps(seen));
    expect(seen).toEqual(ran);
    expect(outcome).toMatchObject({ set: 'web', desired: ctx.set.closure, current: null, generation: null, result, reason });
  });

  it('reports what runs now when a step fails after a switch', async () => {
    const v1 = await world.push('v1');
    expect((await convergeSet(world.context({ closure: v1 }))).result).toBe('converged');
    const outcome = await convergeSet(world.context({ closure: await world.push('v2') }), [throwStep('x', new Error('disk on fire'))]);
    expect(outcome).toMatchObject({ result: 'failed', current: v1, generation: 1, message: 'disk on fire', rollout: null });
  });

  it('runs the default steps end to end: converged, then unchanged, then rolled back on a health failure, then refused', async () => {
    const v1 = await world.push('v1');
    const v2 = await world.push('v2', { failHealth: true });
    expect(await convergeSet(world.context({ closure: v1 }))).toMatchObject({ result: 'converged', current: v1, generation: 1, reason: Reason.Succeeded });
    expect(await convergeSet(world.context({ closure: v1 }))).toMatchObject({ result: 'unchanged', current: v1, generation: 1, message: 'generation 1 is active' });
    expect(await convergeSet(world.context({ closure: v2 }))).toMatchObject({ result: 'rolled-back', current: v1, generation: 1, reason: Reason.HealthCheckFailed, stalled: true });
    expect(await convergeSet(world.context({ closure: v2 }))).toMatchObject({ result: 'rolled-back', current: v1, reason: Reason.RolledBack, stalled: true });
    expect(await world.activations()).toEqual(['v1', 'v2', 'v1']);
  });
});
