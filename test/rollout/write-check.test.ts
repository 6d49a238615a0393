// A store that stops honouring write conditions after it passed the probe (a proxy put in front of it, a
// gateway upgrade): the first claim that wins where it must not is caught, the probe result is forgotten at
// once, and the probe that runs next says no. The store below is a real directory store behind a wrapper
// (our own Store port) that drops the condition, as such a proxy would.
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { probeMemoFile } from '../../src/generations/layout.js';
import { forgetProbe, probeRemembered } from '../../src/reconcile/probe-memo.js';
import { passRolloutGate } from '../../src/reconcile/steps/gate.js';
import { acquireSlot } from '../../src/rollout/lease.js';
import { confirmConditionLoses, isMisbehaviour } from '../../src/rollout/write-check.js';
import { Reason } from '../../src/status/conditions.js';
import { probeConditionalWrites } from '../../src/store/probe.js';
import type { PutOptions, Store } from '../../src/store/store.js';
import { createSetWorld, machinesOfBatch, openRun, type SetWorld } from '../reconcile/set-world.js';
import { contender, tempFsStore } from './lease-helpers.js';

/** `store`, but every put loses the named condition on the way. */
function dropping(store: Store, condition: 'ifNoneMatch' | 'ifMatch'): Store {
  return {
    ...store,
    put: (key, body, options?: PutOptions) => {
      const rest: PutOptions = { ...options };
      delete rest[condition];
      return store.put(key, body, rest);
    },
  };
}

describe('a conditional write that wins where it must not', () => {
  let fs: Awaited<ReturnType<typeof tempFsStore>>;
  beforeEach(async () => (fs = await tempFsStore()));
  afterEach(async () => fs.cleanup());

  it('an honest store: the repeated write loses and the claim stands', async () => {
    const lease = await acquireSlot(contender(fs.store, 'a', { slots: 2 }));
    expect(lease).not.toBeNull();
    await expect(confirmConditionLoses(fs.store, lease!.key, Buffer.from('{}'), { ifNoneMatch: '*' })).resolves.toBeUndefined();
  });

  it('create-if-absent ignored: the claim of an existing slot is caught', async () => {
    await acquireSlot({ ...contender(fs.store, 'a', { slots: 2 }), preferredSlot: 0 });
    const err = await acquireSlot({ ...contender(dropping(fs.store, 'ifNoneMatch'), 'b', { slots: 2 }), preferredSlot: 1 }).catch((e: unknown) => e);
    expect(isMisbehaviour(err)).toBe(true);
    expect((err as { data: Record<string, unknown> }).data['misbehaved']).toBe('create-if-absent');
  });

  it('compare-and-swap ignored: taking a tombstone is caught', async () => {
    await (await acquireSlot({ ...contender(fs.store, 'a', { slots: 1 }), preferredSlot: 0 }))!.release();
    const err = await acquireSlot(contender(dropping(fs.store, 'ifMatch'), 'b', { slots: 1 })).catch((e: unknown) => e);
    expect(isMisbehaviour(err)).toBe(true);
    expect((err as { data: Record<string, unknown> }).data['misbehaved']).toBe('compare-and-swap');
  });
});

describe('the gate step distrusts a misbehaving store at once', () => {
  let world: SetWorld;
  beforeEach(async () => (world = await createSetWorld()));
  afterEach(async () => world.cleanup());

  it('forgets the remembered probe, stops as CoordinationUnsafe, and the probe that runs next says no', async () => {
    const v1 = await world.push('v1');
    const set = { machines: ['a', 'b', 'c'], rollout: '{ canary: 1, batchSize: 1 }' };
    const machine = machinesOfBatch(world, v1, set, 0)[0]!;
    const memo = probeMemoFile(world.stateDir);
    const url = world.store.url;
    // The store passed its probe yesterday; since then something in front of it drops If-None-Match.
    expect(await probeRemembered({ file: memo, url, nowMs: Date.now(), probe: () => probeConditionalWrites(world.store) })).toEqual({ ok: true });
    const bad = dropping(world.store, 'ifNoneMatch');
    let distrusted = 0;
    const ctx = world.context({
      closure: v1, set, machine, coordination: bad, coordinationSafe: true,
      distrustCoordination: async () => {
        distrusted++;
        await forgetProbe({ file: memo, url });
      },
    });
    const run = await openRun(ctx);
    // Another life of this rollout already created the slot this machine claims first.
    await world.store.put(`leases/web/${run.plan.rolloutId}/slot-0`, Buffer.from('{}'));
    const r = await passRolloutGate.run(run);
    expect(r).toMatchObject({ stop: { result: 'failed', reason: Reason.CoordinationUnsafe, stalled: true } });
    expect(distrusted).toBe(1);
    expect(JSON.parse(await readFile(memo, 'utf8'))).not.toHaveProperty(url);
    // The next tick probes again (no TTL to wait for), through the same misbehaving path, and refuses.
    let probes = 0;
    const again = await probeRemembered({ file: memo, url, nowMs: Date.now(), probe: () => (probes++, probeConditionalWrites(bad)) });
    expect(probes).toBe(1);
    expect(again.ok).toBe(false);
  });
});
