import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { convergeSet } from '../../src/reconcile/converge-set.js';
import { holdBeforeFetch, holdBeforeGate } from '../../src/reconcile/steps/hold-if-paused.js';
import { clearPause, writePause } from '../../src/rollout/pause.js';
import { Reason } from '../../src/status/conditions.js';
import { pauseKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import { createSetWorld, openRun, runUntil, type SetWorld } from './set-world.js';

let world: SetWorld;
beforeEach(async () => (world = await createSetWorld()));
afterEach(async () => world.cleanup());

describe('steps hold-before-fetch and hold-before-gate', () => {
  it.each([
    { name: 'neither suspended nor paused: continues', suspended: false, pause: 'none' as const, want: null },
    { name: 'suspended in the repo: waits, not stalled, naming the file', suspended: true, pause: 'none' as const, want: { reason: Reason.Suspended, message: /suspended in sets\/web\.yaml at commit c0ffee/ } },
    { name: 'paused in the store: waits, naming who, when and why', suspended: false, pause: 'record' as const, want: { reason: Reason.Paused, message: /paused by alice@ops since 2026-01-02T03:04:05\.000Z: disk alarm/ } },
    { name: 'an unreadable pause marker still pauses', suspended: false, pause: 'garbage' as const, want: { reason: Reason.Paused, message: /not JSON/ } },
  ])('$name', async ({ suspended, pause, want }) => {
    if (pause === 'record') await writePause(world.store, 'web', 'alice@ops', 'disk alarm', new Date('2026-01-02T03:04:05Z'));
    if (pause === 'garbage') await world.store.put(pauseKey('web'), Buffer.from('{nope'));
    const run = await openRun(world.context({ closure: await world.push('v1'), set: { suspended }, coordination: world.store }));
    for (const step of [holdBeforeFetch, holdBeforeGate]) {
      const r = await step.run(run);
      if (want === null) expect(r).toEqual({ next: run });
      else expect(r).toMatchObject({ stop: { result: 'waiting', reason: want.reason, stalled: false, message: expect.stringMatching(want.message) as unknown } });
    }
  });

  it('fails closed: a pause marker the store cannot read stops the set as failed, never as "not paused"', async () => {
    // A coordination store that refuses connections: the read fails with a transport error.
    const down = openStore('http://127.0.0.1:9/store');
    try {
      const outcome = await convergeSet(world.context({ closure: await world.push('v1'), coordination: down, coordinationSafe: true }));
      expect(outcome).toMatchObject({ result: 'failed', reason: Reason.FetchFailed });
      expect(await world.activations()).toEqual([]);
    } finally {
      await down.close();
    }
  });

  it('a paused set keeps what it runs and fetches nothing; resume lets it converge', async () => {
    const v1 = await world.push('v1');
    const v2 = await world.push('v2');
    expect((await convergeSet(world.context({ closure: v1, coordination: world.store }))).result).toBe('converged');
    await writePause(world.store, 'web', 'bob@host', '', new Date());
    const paused = await convergeSet(world.context({ closure: v2, coordination: world.store }));
    expect(paused).toMatchObject({ result: 'waiting', reason: Reason.Paused, current: v1, generation: 1 });
    // Nothing staged: the staged-or-fetch-turn step after the hold would have recalled a staged generation.
    await clearPause(world.store, 'web');
    const ctx = world.context({ closure: v2, coordination: world.store });
    const before = await runUntil(ctx, 'fetch-and-stage');
    expect(before.generation).toBeUndefined();
    expect(await convergeSet(ctx)).toMatchObject({ result: 'converged', current: v2, generation: 2 });
    expect(await world.activations()).toEqual(['v1', 'v2']);
  });

  it('the pause is read again right before the gate: a pause written during the fetch stops the switch', async () => {
    const ctx = world.context({ closure: await world.push('v1'), coordination: world.store });
    const staged = await runUntil(ctx, 'hold-before-gate');
    expect(staged.generation).toBeDefined();
    await writePause(world.store, 'web', 'carol@host', 'stop', new Date());
    expect(await holdBeforeGate.run(staged)).toMatchObject({ stop: { reason: Reason.Paused } });
  });

  it('a second pause keeps the first one\'s who and when', async () => {
    const first = await writePause(world.store, 'web', 'alice@a', 'one', new Date('2026-01-01T00:00:00Z'));
    const second = await writePause(world.store, 'web', 'bob@b', 'two', new Date('2026-01-02T00:00:00Z'));
    expect(first.created).toBe(true);
    expect(second).toEqual({ created: false, record: first.record });
    expect(await clearPause(world.store, 'web')).toEqual(first.record);
    expect(await clearPause(world.store, 'web')).toBeNull();
  });
});
