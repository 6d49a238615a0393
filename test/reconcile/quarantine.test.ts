import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCurrent, readState, setPaths } from '../../src/generations/index.js';
import { convergeSet } from '../../src/reconcile/converge-set.js';
import { writeQuarantine } from '../../src/rollout/quarantine.js';
import { Reason } from '../../src/status/conditions.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { s3TestUrl } from '../helpers/s3-test-store.js';
import { createSetWorld, type SetWorld } from './set-world.js';

let world: SetWorld;
beforeEach(async () => (world = await createSetWorld()));
afterEach(async () => world.cleanup());

const SET = { machines: ['m1', 'm2', 'm3'], rollout: '{ batchSize: all }' };

// The tick, not only the pure gate (test/rollout/gate.test.ts): the whole step list reads the quarantine
// from the coordination store and does not switch to a quarantined digest.
describe.each([
  { backend: 'directory store', open: (w: SetWorld): Promise<Store> => Promise.resolve(w.store) },
  { backend: 'RGW S3 store', open: async (): Promise<Store> => openStore(await s3TestUrl()) },
])('a set\'s tick honours a quarantine on the $backend', ({ open }) => {
  it.each([
    { name: 'the desired digest is quarantined by another machine: waits, stalled, nothing switched', quarantine: 'v2' as const, want: { result: 'waiting', reason: Reason.Quarantined, stalled: true, current: 'v1', activations: ['v1'] } },
    { name: 'only another digest is quarantined: switches', quarantine: 'v1' as const, want: { result: 'converged', reason: Reason.Succeeded, stalled: false, current: 'v2', activations: ['v1', 'v2'] } },
  ])('$name', async ({ quarantine, want }) => {
    const coordination = await open(world);
    try {
      const digests = { v1: await world.push('v1'), v2: await world.push('v2') };
      expect((await convergeSet(world.context({ closure: digests.v1, set: SET, coordination }))).result).toBe('converged');
      await writeQuarantine(coordination, 'web', digests[quarantine], { machine: 'm2', reason: 'HealthCheckFailed', message: 'answered 500', time: new Date().toISOString() });
      const outcome = await convergeSet(world.context({ closure: digests.v2, set: SET, coordination }));
      expect(outcome).toMatchObject({ result: want.result, reason: want.reason, stalled: want.stalled, current: digests[want.current as 'v1' | 'v2'] });
      const paths = setPaths(world.stateDir, 'web');
      const cur = await readCurrent(paths.current);
      const state = await readState(paths.stateFile);
      expect(state.active).toBe(cur?.number);
      expect(state.pending).toBeUndefined();
      expect(await world.activations()).toEqual(want.activations);
    } finally {
      if (coordination !== world.store) await coordination.close();
    }
  });
});
