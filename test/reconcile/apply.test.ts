import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand, type CommandRunner } from '../../src/activation/run-command.js';
import { readState, setPaths } from '../../src/generations/index.js';
import { convergeSet } from '../../src/reconcile/converge-set.js';
import { switchAndProve } from '../../src/reconcile/steps/apply.js';
import { readQuarantine } from '../../src/rollout/quarantine.js';
import { parseLeaseRecord, readWithEtag } from '../../src/rollout/lease-record.js';
import { acquireSlot, LeaseObserver, type Lease } from '../../src/rollout/lease.js';
import { FakeClock } from '../rollout/lease-helpers.js';
import { Reason } from '../../src/status/conditions.js';
import { createSetWorld, machinesOfBatch, runUntil, type SetWorld, type SetYamlOptions } from './set-world.js';

let world: SetWorld;
beforeEach(async () => (world = await createSetWorld()));
afterEach(async () => world.cleanup());

const FLEET = ['a', 'b', 'c', 'd', 'e', 'f'];
// A failing activation appends its version, then fails for a package that carries FAIL.
const FAILING_ACTIVATION = 'cat svc/VERSION >> "$ACT_LOG"; test ! -e svc/FAIL';

async function leaseState(lease: Lease): Promise<string | undefined> {
  const cur = await readWithEtag(world.store, lease.key);
  return cur === null ? undefined : parseLeaseRecord(cur.bytes)?.state;
}

describe('step apply', () => {
  it.each([
    { name: 'a healthy closure: converged, slot released', set: { rollout: '{ canary: 1, batchSize: 1 }' }, fail: false, activate: undefined, want: { result: 'converged', reason: Reason.Succeeded, current: 'v2', slot: 'released', quarantined: false, activations: ['v1', 'v2'] } },
    { name: 'a failing health check: rolled back, slot kept, quarantined', set: { rollout: '{ canary: 1, batchSize: 1 }' }, fail: true, activate: undefined, want: { result: 'rolled-back', reason: Reason.HealthCheckFailed, current: 'v1', slot: 'held', quarantined: true, activations: ['v1', 'v2', 'v1'] } },
    { name: 'a failing activation: rolled back, slot kept, quarantined', set: { rollout: '{ canary: 1, batchSize: 1 }' }, fail: true, activate: FAILING_ACTIVATION, want: { result: 'rolled-back', reason: Reason.ActivationFailed, current: 'v1', slot: 'held', quarantined: true, activations: ['v1', 'v2', 'v1'] } },
    { name: 'no leases (batchSize all): converged without a slot', set: { rollout: '{ batchSize: all }' }, fail: false, activate: undefined, want: { result: 'converged', reason: Reason.Succeeded, current: 'v2', slot: null, quarantined: false, activations: ['v1', 'v2'] } },
  ])('$name', async ({ set: rollout, fail, activate, want }) => {
    const v1 = await world.push('v1');
    const v2 = await world.push('v2', { failHealth: fail });
    const set: SetYamlOptions = { machines: FLEET, ...rollout, ...(activate ? { activateCommand: activate } : {}) };
    const ctxFor = (closure: typeof v1) => world.context({ closure, set, machine: machinesOfBatch(world, closure, set, 0)[0]!, coordination: world.store });
    expect((await convergeSet(ctxFor(v1))).result).toBe('converged');
    const ctx = ctxFor(v2);
    const run = await runUntil(ctx, 'apply');
    const lease = run.granted?.lease ?? null;
    const r = await switchAndProve.run(run);
    expect(r).toMatchObject({ stop: { set: 'web', desired: v2, result: want.result, reason: want.reason, current: want.current === 'v1' ? v1 : v2, rollout: run.granted?.rollout } });
    expect(lease === null ? null : await leaseState(lease)).toBe(want.slot);
    expect((await readQuarantine(world.store, 'web', v2)) !== null).toBe(want.quarantined);
    expect(await world.activations()).toEqual(want.activations);
    // The memo entry is spent either way: the next tick starts from the disk.
    expect(await ctx.staged.recall('web', v2, ctx.commit, ctx.ports.clock.monotonicMs())).toBeUndefined();
  });

  it.each([
    { name: 'without a staged generation', missing: 'generation' as const },
    { name: 'without the gate\'s permission', missing: 'granted' as const },
  ])('refuses to run $name (a misordered step list)', async ({ missing }) => {
    const ctx = world.context({ closure: await world.push('v1') });
    const run = await runUntil(ctx, 'apply');
    const { generation: _generation, ...withoutGeneration } = run;
    const { granted: _granted, ...withoutGranted } = run;
    const partial = missing === 'generation' ? withoutGeneration : withoutGranted;
    await expect(switchAndProve.run(partial)).rejects.toThrow(`runs before any step set its ${missing}`);
    expect((await readState(setPaths(world.stateDir, 'web').stateFile)).active).toBeUndefined();
  });

  it('a slot lost after the switch (mid-activation) is never reported Succeeded; the healthy generation stays', async () => {
    const set: SetYamlOptions = { machines: FLEET, rollout: '{ canary: 1, batchSize: 1, leaseTtl: 600ms }', activateCommand: 'sleep 1; cat svc/VERSION >> "$ACT_LOG"' };
    const v1 = await world.push('v1');
    let slot = '';
    // An operator clears the slot as the activation starts; the keeper's next renewal finds it gone.
    const runner: CommandRunner = async (spec) => {
      if (JSON.stringify(spec.argv).includes('sleep 1;')) await world.store.delete(slot);
      return runCommand(spec);
    };
    const ctx = world.context({ closure: v1, set, machine: machinesOfBatch(world, v1, set, 0)[0]!, coordination: world.store, runner });
    const run = await runUntil(ctx, 'apply');
    slot = run.granted!.lease!.key;
    const r = await switchAndProve.run(run);
    expect(r).toMatchObject({ stop: { result: 'failed', reason: Reason.LeaseLost, current: v1, stalled: false } });
    expect('stop' in r && r.stop.message).toContain('the batch slot was lost while switching');
    expect((await readState(setPaths(world.stateDir, 'web').stateFile)).active).toBe(1);
  });

  it('without a drain command only the switch is fenced: one CAS write, and a slot taken before it still stops the switch', async () => {
    const set: SetYamlOptions = { machines: FLEET, rollout: '{ canary: 1, batchSize: 1, leaseTtl: 30s }', activateCommand: 'cat svc/VERSION >> "$ACT_LOG"' };
    const v1 = await world.push('v1');
    const v2 = await world.push('v2');
    const machine = machinesOfBatch(world, v2, set, 0)[0]!;
    expect((await convergeSet(world.context({ closure: v1, set: { ...set, rollout: '{ batchSize: all }' }, machine, coordination: world.store }))).result).toBe('converged');
    // Converges: one fence step (the switch's), none for a drain that is not there.
    const ok = world.context({ closure: v2, set, machine, coordination: world.store });
    const r = await switchAndProve.run(await runUntil(ok, 'apply'));
    expect(r).toMatchObject({ stop: { result: 'converged', current: v2 } });
    expect(ok.timings.map((t) => t.step).filter((s) => s.startsWith('fence-'))).toEqual(['fence-switch']);
    // A v3 rollout whose slot an operator clears between the gate and the switch: the one fence stops it.
    const v3 = await world.push('v3');
    const ctx = world.context({ closure: v3, set, machine: machinesOfBatch(world, v3, set, 0)[0]!, coordination: world.store });
    const run = await runUntil(ctx, 'apply');
    await world.store.delete(run.granted!.lease!.key);
    const lost = await switchAndProve.run(run);
    expect(lost).toMatchObject({ stop: { reason: Reason.LeaseLost } });
    expect(await world.activations()).toEqual(['v1', 'v2']);
  });

  describe('the fence: no drain and no switch on a slot that is no longer ours', () => {
    const DRAIN_MARK = 'echo drain >> "$ACT_LOG"';
    const set: SetYamlOptions = {
      machines: FLEET,
      // Long enough that the keeper's own renewals (every TTL/3) never land between the intruder's looks.
      rollout: '{ canary: 1, batchSize: 1, leaseTtl: 30s }',
      drainCommand: DRAIN_MARK,
      undrainCommand: 'echo undrain >> "$ACT_LOG"',
    };

    it.each([
      { name: 'taken over between the gate and the drain: neither drain nor switch', when: 'before-drain' as const, want: ['drain', 'v1', 'undrain'] },
      { name: 'taken over during the drain: no switch, the drain is undone', when: 'during-drain' as const, want: ['drain', 'v1', 'undrain', 'drain', 'undrain'] },
    ])('$name', async ({ when, want }) => {
      const v1 = await world.push('v1');
      const v2 = await world.push('v2');
      const machine = machinesOfBatch(world, v2, set, 0)[0]!;
      let rolloutId = '';
      // Another machine that saw the slot unchanged for a whole TTL on its own clock takes it by CAS.
      const clock = new FakeClock();
      const observations = new LeaseObserver();
      const takeOver = async (): Promise<Lease | null> => {
        const o = { store: world.store, set: 'web', rollout: rolloutId, slots: 1, machine: 'intruder', holder: 'intruder-1', digest: v2, ttlMs: 30_000, clock, observations };
        expect(await acquireSlot(o)).toBeNull();
        clock.advance(30_001);
        return acquireSlot(o);
      };
      let intruder: Lease | null = null;
      const runner: CommandRunner = async (spec) => {
        const result = await runCommand(spec);
        if (when === 'during-drain' && [spec.argv].flat().join(' ').includes(DRAIN_MARK)) intruder = await takeOver();
        return result;
      };
      // v1 goes everywhere at once (no slot): only the v2 rollout is coordinated.
      expect((await convergeSet(world.context({ closure: v1, set: { ...set, rollout: '{ batchSize: all }' }, machine, coordination: world.store }))).result).toBe('converged');
      const ctx = world.context({ closure: v2, set, machine, coordination: world.store, runner });
      const run = await runUntil(ctx, 'apply');
      rolloutId = run.plan.rolloutId;
      if (when === 'before-drain') intruder = await takeOver();
      const r = await switchAndProve.run(run);
      expect(intruder).not.toBeNull();
      expect(r).toMatchObject({ stop: { result: 'waiting', reason: Reason.LeaseLost, current: v1, generation: 1, stalled: false } });
      const state = await readState(setPaths(world.stateDir, 'web').stateFile);
      expect(state.active).toBe(1);
      expect(state.pending).toBeUndefined();
      expect(await world.activations()).toEqual(want);
      // The new holder is unharmed: its own renewal still succeeds.
      await intruder!.renew();
    });
  });
});
