import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { markBad, readState, setPaths } from '../../src/generations/index.js';
import { recordDesiredDigest } from '../../src/reconcile/steps/record-desired.js';
import { createSetWorld, openRun, type SetWorld } from './set-world.js';

let world: SetWorld;
beforeEach(async () => (world = await createSetWorld()));
afterEach(async () => world.cleanup());

describe('step record-desired', () => {
  it.each([
    { name: 'a fresh set: records the desired digest', bad: null, keptBad: false },
    { name: 'a bad mark made under another desired digest is dropped (it may be retried)', bad: 'other' as const, keptBad: false },
    { name: 'a bad mark made under this desired digest is kept', bad: 'same' as const, keptBad: true },
  ])('$name', async ({ bad, keptBad }) => {
    const v1 = await world.push('v1');
    const v2 = await world.push('v2');
    if (bad !== null) await markBad(world.stateDir, 'web', { digest: v2, reason: 'HealthCheckFailed: x', desiredDigest: bad === 'same' ? v2 : v1 });
    const run = await openRun(world.context({ closure: v2 }));
    expect(await recordDesiredDigest.run(run)).toEqual({ next: run });
    const state = await readState(setPaths(world.stateDir, 'web').stateFile);
    expect(state.lastDesired).toBe(v2);
    expect(v2 in state.bad).toBe(keptBad);
  });
});
