import { lstat } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { convergeSet } from '../../src/reconcile/converge-set.js';
import { fetchAndStageClosure } from '../../src/reconcile/steps/fetch-and-stage.js';
import { StagedMemo } from '../../src/reconcile/staged-memo.js';
import { Reason } from '../../src/status/conditions.js';
import { objectKey } from '../../src/store/keys.js';
import { digestFromHex } from '../../src/store/digest.js';
import { generateKeyPair, parsePublicKey } from '../../src/trust/publisher-key.js';
import { createSetWorld, openRun, type SetWorld } from './set-world.js';

let world: SetWorld;
beforeEach(async () => (world = await createSetWorld()));
afterEach(async () => world.cleanup());

describe('step fetch-and-stage', () => {
  it('fetches, verifies and stages the closure, and remembers the generation for this commit', async () => {
    const v1 = await world.push('v1');
    const staged = new StagedMemo();
    const ctx = world.context({ closure: v1, staged });
    const r = await fetchAndStageClosure.run(await openRun(ctx));
    expect(r).toMatchObject({ next: { generation: { number: 1, digest: v1 } } });
    const gen = 'next' in r ? r.next.generation! : undefined;
    expect((await lstat(gen!.path)).isDirectory()).toBe(true);
    expect(ctx.timings.map((t) => t.step)).toEqual(['fetch', 'stage']);
    expect(await staged.recall('web', v1, ctx.commit, ctx.ports.clock.monotonicMs())).toEqual(gen);
  });

  it('does nothing when an earlier step recalled a staged generation', async () => {
    const v1 = await world.push('v1');
    const first = await fetchAndStageClosure.run(await openRun(world.context({ closure: v1 })));
    const generation = 'next' in first ? first.next.generation : undefined;
    const ctx = world.context({ closure: v1 });
    const run = { ...(await openRun(ctx)), ...(generation !== undefined ? { generation } : {}) };
    expect(await fetchAndStageClosure.run(run)).toEqual({ next: run });
    expect(ctx.timings).toEqual([]);
  });

  it.each([
    { name: 'a closure signed by an untrusted key', spoil: 'untrusted' as const, code: 'SignatureError', reason: Reason.VerificationFailed },
    { name: 'a closure missing from the store', spoil: 'missing' as const, code: 'NotFoundError', reason: Reason.FetchFailed },
    { name: 'a closure whose bytes were altered in the store', spoil: 'tampered' as const, code: 'IntegrityError', reason: Reason.VerificationFailed },
  ])('refuses $name: throws, stages nothing; the tick reports it', async ({ spoil, code, reason }) => {
    let closure = await world.push('v1');
    if (spoil === 'missing') closure = digestFromHex('0'.repeat(64));
    if (spoil === 'tampered') await world.store.put(objectKey(closure), Buffer.from('{"format":1,"name":"svc","entries":[]}'));
    const ctx = world.context({ closure });
    if (spoil === 'untrusted') ctx.policy = { trusted: [parsePublicKey(generateKeyPair('other').public)], threshold: 1 };
    await expect(fetchAndStageClosure.run(await openRun(ctx))).rejects.toMatchObject({ code });
    expect(await convergeSet(ctx)).toMatchObject({ result: 'failed', reason, current: null });
    expect(await world.activations()).toEqual([]);
  });
});
