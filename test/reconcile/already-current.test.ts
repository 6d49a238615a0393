import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setPaths, writeState, readState } from '../../src/generations/index.js';
import { convergeSet } from '../../src/reconcile/converge-set.js';
import { stopIfCurrent } from '../../src/reconcile/steps/already-current.js';
import { Reason } from '../../src/status/conditions.js';
import type { Digest } from '../../src/store/digest.js';
import { createSetWorld, openRun, type SetWorld } from './set-world.js';

let world: SetWorld;
beforeEach(async () => (world = await createSetWorld()));
afterEach(async () => world.cleanup());

type Tamper = 'none' | 'pending' | 'active-elsewhere';

/** Makes state.json disagree with a current link that names the desired digest, as a crash or a hand edit can. */
async function tamper(how: Tamper, digest: Digest): Promise<void> {
  if (how === 'none') return;
  const file = setPaths(world.stateDir, 'web').stateFile;
  const state = await readState(file);
  const pending = { from: 1, to: 2, digest, startedAt: new Date(0).toISOString(), phase: 'switched' as const };
  await writeState(file, how === 'pending' ? { ...state, pending } : { ...state, active: 1 });
}

describe('step already-current', () => {
  it.each<{ name: string; deployed: string[]; desired: string; how: Tamper; stops: boolean }>([
    { name: 'nothing deployed yet: continues', deployed: [], desired: 'v1', how: 'none', stops: false },
    { name: 'the desired digest is current and active: stops unchanged', deployed: ['v1'], desired: 'v1', how: 'none', stops: true },
    { name: 'another digest is current: continues', deployed: ['v1'], desired: 'v2', how: 'none', stops: false },
    { name: 'current but a switch is pending: continues (an unfinished switch is not done)', deployed: ['v1'], desired: 'v1', how: 'pending', stops: false },
    { name: 'current but another generation is active: continues', deployed: ['v1', 'v2'], desired: 'v2', how: 'active-elsewhere', stops: false },
  ])('$name', async ({ deployed, desired, how, stops }) => {
    const digests = new Map<string, Digest>();
    for (const v of new Set([...deployed, desired])) digests.set(v, await world.push(v));
    for (const v of deployed) expect((await convergeSet(world.context({ closure: digests.get(v)! }))).result).toMatch(/converged|unchanged/);
    await tamper(how, digests.get(desired)!);
    const run = await openRun(world.context({ closure: digests.get(desired)! }));
    const r = await stopIfCurrent.run(run);
    if (!stops) {
      expect(r).toEqual({ next: run });
      return;
    }
    expect(r).toEqual({
      stop: {
        set: 'web', desired: digests.get(desired), current: digests.get(desired), generation: run.current?.number, result: 'unchanged',
        reason: Reason.Succeeded, message: `generation ${run.current?.number} is active`, stalled: false, rollout: { id: run.plan.rolloutId, batch: 0 },
      },
    });
  });
});
