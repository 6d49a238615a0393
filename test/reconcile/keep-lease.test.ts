import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand, type CommandRunner } from '../../src/activation/run-command.js';
import { convergeSet } from '../../src/reconcile/converge-set.js';
import { setPlanOf } from '../../src/rollout/set-plan.js';
import { acquireSlot, LeaseObserver, type Lease } from '../../src/rollout/lease.js';
import { Reason } from '../../src/status/conditions.js';
import type { Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { FakeClock } from '../rollout/lease-helpers.js';
import { s3TestUrl } from '../helpers/s3-test-store.js';
import { createSetWorld, machinesOfBatch, type SetWorld } from './set-world.js';

// Long enough that renewals every TTL/3 survive a loaded 2-core CI machine (a 600 ms TTL lost its slot there
// with nobody taking it: the keeper rightly counts a renewal late by a whole TTL as a loss).
const TTL_MS = 1500;
// Three TTLs and more: without renewals, any other machine may take the slot long before the activation ends.
const ACTIVATION_MARK = 'sleep 5;';
const ACTIVATION = `${ACTIVATION_MARK} cat svc/VERSION >> "$ACT_LOG"`;
const SET = { machines: ['a', 'b', 'c'], rollout: `{ canary: 1, batchSize: 1, leaseTtl: ${TTL_MS}ms }`, activateCommand: ACTIVATION };

let world: SetWorld;
beforeEach(async () => (world = await createSetWorld()));
afterEach(async () => world.cleanup());

/**
 * A real runner, plus another machine that watches the slot while the activation runs: it looks at the slot
 * when the activation starts, then (its own clock moved past the TTL) tries to take it when the activation
 * ends. It gets the slot only if the etag never changed in between, i.e. nobody renewed the lease.
 */
function watchedRunner(coordination: Store, digest: Digest, rollout: () => string): { runner: CommandRunner; takenOver: () => Lease | null | undefined; attempt: () => Promise<Lease | null> } {
  const clock = new FakeClock();
  const observations = new LeaseObserver();
  const attempt = (): Promise<Lease | null> => acquireSlot({ store: coordination, set: 'web', rollout: rollout(), slots: 1, machine: 'intruder', holder: 'intruder-1', digest, ttlMs: TTL_MS, clock, observations });
  let takenOver: Lease | null | undefined;
  const runner: CommandRunner = async (spec) => {
    const activation = JSON.stringify(spec.argv).includes(ACTIVATION_MARK);
    if (activation && (await attempt()) !== null) throw new Error('the slot was free when the activation started');
    const result = await runCommand(spec);
    if (activation) {
      clock.advance(TTL_MS + 1);
      takenOver = await attempt();
    }
    return result;
  };
  return { runner, takenOver: () => takenOver, attempt };
}

describe.each([
  { backend: 'directory store', open: (w: SetWorld): Promise<Store> => Promise.resolve(w.store) },
  { backend: 'RGW S3 store', open: async (): Promise<Store> => openStore(await s3TestUrl()) },
])('the lease keeper on the $backend', ({ open }) => {
  it('an activation longer than the lease TTL still holds the slot at its end, and releases it after', async () => {
    const coordination = await open(world);
    try {
      const v1 = await world.push('v1');
      const machine = machinesOfBatch(world, v1, SET, 0)[0]!;
      let rolloutId = '';
      const watch = watchedRunner(coordination, v1, () => rolloutId);
      const ctx = world.context({ closure: v1, set: SET, machine, coordination, runner: watch.runner });
      rolloutId = setPlanOf(ctx.decls, ctx.set, machine).rolloutId;
      const outcome = await convergeSet(ctx);
      expect(watch.takenOver()).toBeNull();
      expect(outcome).toMatchObject({ result: 'converged', reason: Reason.Succeeded, message: 'generation 1 active and healthy' });
      expect(await world.activations()).toEqual(['v1']);
      // A healthy machine frees its slot at once: the next machine need not wait for the TTL.
      expect(await watch.attempt()).not.toBeNull();
    } finally {
      if (coordination !== world.store) await coordination.close();
    }
  });
});
