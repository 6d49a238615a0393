import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { markBad } from '../../src/generations/index.js';
import { refuseRememberedBad } from '../../src/reconcile/steps/refuse-remembered-bad.js';
import { Reason } from '../../src/status/conditions.js';
import { createSetWorld, openRun, type SetWorld } from './set-world.js';

let world: SetWorld;
beforeEach(async () => (world = await createSetWorld()));
afterEach(async () => world.cleanup());

describe('step refuse-remembered-bad', () => {
  it.each([
    { name: 'never failed here: continues', bad: null, stops: false },
    { name: 'failed under this desired digest: refused, stalled, with the remembered reason', bad: 'same' as const, stops: true },
    { name: 'failed under another desired digest: continues (the desired digest changed since)', bad: 'other' as const, stops: false },
  ])('$name', async ({ bad, stops }) => {
    const v1 = await world.push('v1');
    const v2 = await world.push('v2');
    if (bad !== null) await markBad(world.stateDir, 'web', { digest: v2, reason: 'HealthCheckFailed: 500', desiredDigest: bad === 'same' ? v2 : v1 });
    const run = await openRun(world.context({ closure: v2 }));
    const r = await refuseRememberedBad.run(run);
    if (!stops) return expect(r).toEqual({ next: run });
    expect(r).toEqual({
      stop: {
        set: 'web', desired: v2, current: null, generation: null, result: 'rolled-back', reason: Reason.RolledBack,
        message: `${v2} failed here before (HealthCheckFailed: 500); not retried until the desired digest changes or \`flotilla clear web\``,
        stalled: true, rollout: { id: run.plan.rolloutId, batch: 0 },
      },
    });
  });
});
