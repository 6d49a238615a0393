import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { convergeSet } from '../../src/reconcile/converge-set.js';
import { checkPlatform } from '../../src/reconcile/steps/check-platform.js';
import { Reason } from '../../src/status/conditions.js';
import { createSetWorld, openRun, PLATFORM, type SetWorld } from './set-world.js';

let world: SetWorld;
beforeEach(async () => (world = await createSetWorld()));
afterEach(async () => world.cleanup());

describe('step check-platform', () => {
  it.each([
    { name: 'the set declares this machine\'s platform: continues', machinePlatform: PLATFORM, stops: false },
    { name: 'the set declares another platform: refused, stalled', machinePlatform: 'linux/arm64', stops: true },
  ])('$name', async ({ machinePlatform, stops }) => {
    const ctx = world.context({ closure: await world.push('v1'), platform: machinePlatform });
    const run = await openRun(ctx);
    const r = await checkPlatform.run(run);
    if (!stops) return expect(r).toEqual({ next: run });
    expect(r).toEqual({
      stop: {
        set: 'web', desired: ctx.set.closure, current: null, generation: null, result: 'failed', reason: Reason.VerificationFailed,
        message: `set web declares platform ${PLATFORM}; this machine is linux/arm64: closure refused`, stalled: true, rollout: null,
      },
    });
  });

  it('in the tick, a refused platform fetches and stages nothing', async () => {
    const ctx = world.context({ closure: await world.push('v1'), platform: 'linux/arm64' });
    expect((await convergeSet(ctx)).reason).toBe(Reason.VerificationFailed);
    expect(ctx.fetched.bytes).toBe(0);
    expect(await readdir(join(world.stateDir, 'sets')).catch(() => [])).toEqual([]);
    expect(await world.activations()).toEqual([]);
  });
});
