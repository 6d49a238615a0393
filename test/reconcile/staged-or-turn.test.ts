import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fetchAndStage } from '../../src/reconcile/step-fetch-stage.js';
import { FETCH_LOOKAHEAD_BATCHES } from '../../src/reconcile/step-gate.js';
import { stagedOrFetchTurn } from '../../src/reconcile/steps/staged-or-turn.js';
import { StagedMemo } from '../../src/reconcile/staged-memo.js';
import { Reason } from '../../src/status/conditions.js';
import { createSetWorld, machinesOfBatch, openRun, steppingClock, type SetWorld } from './set-world.js';

let world: SetWorld;
beforeEach(async () => (world = await createSetWorld()));
afterEach(async () => world.cleanup());

const FLEET = { machines: ['a', 'b', 'c', 'd', 'e', 'f'], rollout: '{ canary: 1, batchSize: 1 }' };
const COMMIT = 'a'.repeat(40);

describe('step staged-or-fetch-turn', () => {
  it.each([
    { name: 'staged by an earlier tick of this commit: continues with it, even far from its turn', memo: COMMIT, batch: 3, coordinated: true, want: 'recalled' },
    { name: 'staged under another commit: not reused; far from its turn it waits', memo: 'b'.repeat(40), batch: 3, coordinated: true, want: 'waits' },
    { name: 'nothing staged, far from its turn, earlier batches not done: waits', memo: null, batch: FETCH_LOOKAHEAD_BATCHES + 1, coordinated: true, want: 'waits' },
    { name: 'nothing staged, within the lookahead: continues to fetch', memo: null, batch: FETCH_LOOKAHEAD_BATCHES, coordinated: true, want: 'fetch' },
    { name: 'nothing staged, no coordination store: continues to fetch (the gate decides)', memo: null, batch: 3, coordinated: false, want: 'fetch' },
  ])('$name', async ({ memo, batch, coordinated, want }) => {
    const v1 = await world.push('v1');
    const machine = machinesOfBatch(world, v1, FLEET, batch)[0]!;
    const staged = new StagedMemo();
    // A machine waiting for its turn looks again within its tick (look-again.ts): on this clock, at once.
    const ctx = world.context({ closure: v1, set: FLEET, machine, staged, commit: COMMIT, coordination: coordinated ? world.store : null, clock: steppingClock() });
    if (memo !== null) {
      const { generation } = await fetchAndStage(ctx);
      staged.remember('web', v1, memo, generation, ctx.ports.clock.monotonicMs());
    }
    const run = await openRun(ctx);
    const r = await stagedOrFetchTurn.run(run);
    if (want === 'fetch') return expect(r).toEqual({ next: run });
    if (want === 'recalled') return expect(r).toMatchObject({ next: { ...run, generation: { digest: v1, number: 1 } } });
    expect(r).toMatchObject({ stop: { set: 'web', result: 'waiting', reason: Reason.WaitingForBatch, stalled: false, rollout: { id: run.plan.rolloutId, batch } } });
    expect('stop' in r && r.stop.message).toMatch(new RegExp(`^batch \\d: \\w is not Ready on the target yet; batch ${batch} fetches ${v1} when batch ${batch - FETCH_LOOKAHEAD_BATCHES - 1} is done$`));
  });
});
