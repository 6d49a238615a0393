import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/rollout/clock.js';
import { acquireSlot, LeaseObserver } from '../../src/rollout/lease.js';
import { planRollout } from '../../src/rollout/planner.js';
import { writeQuarantine } from '../../src/rollout/quarantine.js';
import { Reason } from '../../src/status/conditions.js';
import { decideExitCode } from '../../src/status/fleet-view.js';
import { gatherSetView } from '../../src/status/gather.js';
import { MACHINE_STATUS_SCHEMA, type MachineStatus } from '../../src/status/machine-status.js';
import { writeMachineStatus } from '../../src/status/status-io.js';
import { digestFromHex, type Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

const OLD = digestFromHex('0'.repeat(64));
const NEW = digestFromHex('1'.repeat(64));

function status(machine: string, digest: Digest): MachineStatus {
  const now = new Date().toISOString();
  return {
    schema: MACHINE_STATUS_SCHEMA, machine, set: 'web', desiredDigest: NEW, currentDigest: digest, generation: 1, commit: null, state: 'Ready',
    conditions: [{ type: 'Ready', status: 'True', reason: Reason.Succeeded, message: '', lastTransitionTime: now }], rollout: null, reportedAt: now, agentVersion: '0.1.0',
  };
}

describe('gatherSetView on a real directory store', () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-gather-'));
    store = openStore(dir);
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads statuses, the rollout\'s slot holders and quarantines into one view', async () => {
    const plan = planRollout({ set: 'web', target: NEW, machines: ['a', 'b', 'c'], settings: { canary: 1, batchSize: { count: 2 } } });
    await writeMachineStatus(store, status('a', NEW));
    await writeMachineStatus(store, status('b', OLD));
    await writeMachineStatus(store, status('stray', NEW));
    await acquireSlot({ store, set: 'web', rollout: plan.rolloutId, slots: 2, machine: 'b', holder: 'b-1', digest: NEW, ttlMs: 60_000, clock: systemClock, observations: new LeaseObserver() });
    const view = await gatherSetView(store, { set: 'web', desiredDigest: NEW, machines: ['a', 'b', 'c'], plan, now: new Date(), staleAfterMs: 600_000 });
    expect(view.machines.map((m) => [m.machine, m.state])).toEqual(plan.order.map((m) => [m, { a: 'Ready', b: 'Progressing', c: 'Unknown' }[m]]));
    expect(view.machines.every((m) => m.batch !== null)).toBe(true);
    expect(view.slotHolders).toMatchObject([{ machine: 'b', state: 'held', rollout: plan.rolloutId }]);
    expect(view.strays).toEqual(['stray']);
    expect(view.health).toBe('progressing');
    expect(decideExitCode([view])).toBe(3);
    await writeQuarantine(store, 'web', NEW, { machine: 'b', reason: Reason.HealthCheckFailed, message: 'boom', time: new Date().toISOString() });
    const failed = await gatherSetView(store, { set: 'web', desiredDigest: NEW, machines: ['a', 'b', 'c'], plan, now: new Date(), staleAfterMs: 600_000 });
    expect(failed.quarantines).toEqual([{ digest: NEW, machines: ['b'] }]);
    expect(decideExitCode([failed])).toBe(1);
  });
});
