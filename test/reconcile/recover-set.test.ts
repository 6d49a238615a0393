import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CrashPoint, CrashPoints } from '../../src/generations/crash-points.js';
import { findGeneration, readCurrent, readState, setPaths } from '../../src/generations/index.js';
import { convergeSet } from '../../src/reconcile/converge-set.js';
import { recoverSet } from '../../src/reconcile/recover-set.js';
import type { SetContext } from '../../src/reconcile/context.js';
import { acquireSlot, LeaseObserver } from '../../src/rollout/lease.js';
import { parseLeaseRecord, readWithEtag, type LeaseRecord } from '../../src/rollout/lease-record.js';
import { readQuarantine } from '../../src/rollout/quarantine.js';
import { setPlanOf } from '../../src/rollout/set-plan.js';
import { Reason } from '../../src/status/conditions.js';
import type { Digest } from '../../src/store/digest.js';
import { leaseKey } from '../../src/store/keys.js';
import { FakeClock } from '../rollout/lease-helpers.js';
import { createSetWorld, machinesOfBatch, type SetWorld, type SetYamlOptions } from './set-world.js';

let world: SetWorld;
beforeEach(async () => (world = await createSetWorld()));
afterEach(async () => world.cleanup());

/** Stops the switch dead at `point`, as a kill would: what is on disk stays, nothing after it runs. */
function crashAt(point: CrashPoint): CrashPoints {
  return {
    hit(p) {
      if (p === point) throw new Error(`crashed at ${p}`);
    },
  };
}

describe('recoverSet after a crash during the switch', () => {
  it.each([
    { name: 'link moved to a healthy version: recovery activates it, re-runs health, commits', at: 'switch:after-fsync' as const, fail: false, want: { current: 'v2', bad: false, activations: ['v1', 'v2'], next: Reason.Succeeded } },
    { name: 'link moved to an unhealthy version: recovery re-runs health and rolls back', at: 'switch:after-fsync' as const, fail: true, want: { current: 'v1', bad: true, activations: ['v1', 'v2', 'v1'], next: Reason.RolledBack } },
    { name: 'crashed after the activating phase was written, unhealthy: rolls back', at: 'phase:after-write' as const, fail: true, want: { current: 'v1', bad: true, activations: ['v1', 'v2', 'v1'], next: Reason.RolledBack } },
    { name: 'link never moved: the switch is undone, nothing is activated', at: 'switch:after-pending' as const, fail: true, want: { current: 'v1', bad: false, activations: ['v1'], next: Reason.HealthCheckFailed } },
  ])('$name', async ({ at, fail, want }) => {
    const digests = { v1: await world.push('v1'), v2: await world.push('v2', { failHealth: fail }) };
    expect((await convergeSet(world.context({ closure: digests.v1 }))).result).toBe('converged');
    const crashed = await convergeSet(world.context({ closure: digests.v2, crash: crashAt(at) }));
    expect(crashed).toMatchObject({ result: 'failed', reason: Reason.InternalError, message: `crashed at ${at}` });
    expect((await readState(setPaths(world.stateDir, 'web').stateFile)).pending).toMatchObject({ from: 1, to: 2, digest: digests.v2 });

    // A new agent process: recovery runs once per set before its first convergence.
    await recoverSet(world.context({ closure: digests.v2 }));
    const paths = setPaths(world.stateDir, 'web');
    const state = await readState(paths.stateFile);
    const cur = await readCurrent(paths.current);
    expect(cur).toBeDefined();
    expect((await findGeneration(paths, cur!.number)).digest).toBe(digests[want.current as 'v1' | 'v2']);
    expect(state.active).toBe(cur!.number);
    expect(state.pending).toBeUndefined();
    expect(state.rollback).toBeUndefined();
    expect(digests.v2 in state.bad).toBe(want.bad);
    expect(await world.activations()).toEqual(want.activations);
    // The next tick goes on from there: unchanged; refused as remembered bad; or a fresh attempt after an undo.
    expect((await convergeSet(world.context({ closure: digests.v2 }))).reason).toBe(want.next);
  });
});

/** The slot record of the rollout to `closure` (one slot: canary 1, batch 1). */
async function slotRecord(ctx: SetContext): Promise<LeaseRecord | null> {
  const key = leaseKey('web', setPlanOf(ctx.decls, ctx.set, ctx.machine.name).rolloutId, 0);
  const cur = await readWithEtag(world.store, key);
  return cur === null ? null : parseLeaseRecord(cur.bytes);
}

describe('recoverSet in a coordinated rollout: the crashed holder\'s slot and the fleet-wide quarantine', () => {
  const set: SetYamlOptions = { machines: ['a', 'b', 'c'], rollout: '{ canary: 1, batchSize: 1 }' };

  it.each([
    { name: 'healthy: adopts its slot by CAS, finishes, releases it (the next batch need not wait a TTL)', at: 'switch:after-fsync' as const, fail: false, want: { current: 'v2', slot: 'released', adopted: true, outcome: null, quarantined: false } },
    { name: 'crashed after the commit, before the release: the slot left held is released', at: 'commit:after-write' as const, fail: false, want: { current: 'v2', slot: 'released', adopted: true, outcome: null, quarantined: false } },
    { name: 'unhealthy: adopts its slot, rolls back, keeps the slot, writes the quarantine, reports the health reason', at: 'switch:after-fsync' as const, fail: true, want: { current: 'v1', slot: 'held', adopted: true, outcome: Reason.HealthCheckFailed, quarantined: true } },
  ])('$name', async ({ at, fail, want }) => {
    const v1 = await world.push('v1');
    const v2 = await world.push('v2', { failHealth: fail });
    const machine = machinesOfBatch(world, v2, set, 0)[0]!;
    const ctxFor = (closure: Digest, crash?: CrashPoints): SetContext => world.context({ closure, set, machine, coordination: world.store, ...(crash ? { crash } : {}) });
    // v1 everywhere at once; v2 is the coordinated rollout the crash interrupts.
    expect((await convergeSet(world.context({ closure: v1, set: { ...set, rollout: '{ batchSize: all }' }, machine, coordination: world.store }))).result).toBe('converged');
    const crashedCtx = ctxFor(v2, crashAt(at));
    expect((await convergeSet(crashedCtx)).reason).toBe(Reason.InternalError);
    expect(await slotRecord(crashedCtx)).toMatchObject({ state: 'held', holder: crashedCtx.ports.holder });

    const restarted = ctxFor(v2);
    const outcome = await recoverSet(restarted);
    const paths = setPaths(world.stateDir, 'web');
    const cur = await readCurrent(paths.current);
    expect((await findGeneration(paths, cur!.number)).digest).toBe(want.current === 'v1' ? v1 : v2);
    expect(await slotRecord(restarted)).toMatchObject({ state: want.slot, holder: want.adopted ? restarted.ports.holder : crashedCtx.ports.holder });
    expect((await readQuarantine(world.store, 'web', v2)) !== null).toBe(want.quarantined);
    if (want.outcome === null) expect(outcome).toBeNull();
    else expect(outcome).toMatchObject({ result: 'rolled-back', reason: want.outcome, current: v1, desired: v2, stalled: true });
  });

  it('no slot to be had (ours was taken after the TTL): the switch is undone, not finished, and nothing is marked bad', async () => {
    const v1 = await world.push('v1');
    const v2 = await world.push('v2');
    const machine = machinesOfBatch(world, v2, set, 0)[0]!;
    expect((await convergeSet(world.context({ closure: v1, set: { ...set, rollout: '{ batchSize: all }' }, machine, coordination: world.store }))).result).toBe('converged');
    const crashedCtx = world.context({ closure: v2, set, machine, coordination: world.store, crash: crashAt('switch:after-fsync') });
    await convergeSet(crashedCtx);
    // Another machine saw the slot unchanged for a whole TTL on its own clock and took it.
    const clock = new FakeClock();
    const o = { store: world.store, set: 'web', rollout: setPlanOf(crashedCtx.decls, crashedCtx.set, machine).rolloutId, slots: 1, machine: 'other', holder: 'other-1', digest: v2, ttlMs: 300_000, clock, observations: new LeaseObserver() };
    expect(await acquireSlot(o)).toBeNull();
    clock.advance(300_001);
    expect(await acquireSlot(o)).not.toBeNull();

    expect(await recoverSet(world.context({ closure: v2, set, machine, coordination: world.store }))).toBeNull();
    const paths = setPaths(world.stateDir, 'web');
    const state = await readState(paths.stateFile);
    expect(state.active).toBe(1);
    expect(state.pending).toBeUndefined();
    expect(state.bad).toEqual({});
    expect((await readCurrent(paths.current))?.number).toBe(1);
    expect(await world.activations()).toEqual(['v1', 'v1']);
    expect(await slotRecord(crashedCtx)).toMatchObject({ state: 'held', holder: 'other-1' });
  });
});
