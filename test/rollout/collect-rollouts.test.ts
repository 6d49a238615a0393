import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectOldRollouts } from '../../src/rollout/collect-rollouts.js';
import { acquireSlot } from '../../src/rollout/lease.js';
import { listAll } from '../../src/store/store.js';
import { writeReadyMarker } from '../../src/rollout/ready-marker.js';
import { DIGEST, contender, tempFsStore } from './lease-helpers.js';

const DAY = 24 * 3_600_000;

describe('machines collect their set\'s finished rollouts (directory store)', () => {
  let fs: Awaited<ReturnType<typeof tempFsStore>>;
  beforeEach(async () => (fs = await tempFsStore()));
  afterEach(async () => fs.cleanup());

  async function rollout(id: string, slots: number, ageMs: number): Promise<void> {
    for (let i = 0; i < slots; i++) {
      await (await acquireSlot({ ...contender(fs.store, `m${i}`, { slots, rollout: id }), preferredSlot: i }))!.release();
      await writeReadyMarker(fs.store, { set: 'web', rolloutId: id, digest: DIGEST, machine: `m${i}`, at: new Date() });
    }
    const when = new Date(Date.now() - ageMs);
    for (const prefix of [`leases/web/${id}/`, `ready/web/${id}/`]) for await (const o of listAll(fs.store, prefix)) await utimes(join(fs.url, o.key), when, when);
  }
  const keys = async (): Promise<string[]> => {
    const out: string[] = [];
    for (const prefix of ['leases/web/', 'ready/web/']) for await (const o of listAll(fs.store, prefix)) out.push(o.key);
    return out.sort();
  };

  it('deletes old rollouts past the grace in bounded steps, keeps young ones and the current one, and two machines racing are fine', async () => {
    await rollout('r-old1', 3, 2 * DAY);
    await rollout('r-old2', 3, 2 * DAY);
    await rollout('r-young', 2, 1000);
    await rollout('r-current', 2, 3 * DAY);
    const o = { olderThanMs: DAY, now: new Date(), maxDeletes: 6 }; // a rollout of 3 machines is 6 objects (3 slots, 3 Ready markers)
    const first = await collectOldRollouts(fs.store, 'web', 'r-current', o);
    expect(first).toMatchObject({ deleted: ['web/r-old1'], deletedKeys: 6, keptYoung: ['web/r-young'], more: true });
    expect((await keys()).filter((k) => k.includes('r-old1'))).toEqual([]);
    // Two machines at once: each deletes what it listed; a key already gone is no error.
    const [a, b] = await Promise.all([collectOldRollouts(fs.store, 'web', 'r-current', o), collectOldRollouts(fs.store, 'web', 'r-current', o)]);
    expect(a.deleted.concat(b.deleted)).toContain('web/r-old2');
    expect((await keys()).filter((k) => k.includes('r-current'))).toEqual(['leases/web/r-current/slot-0', 'leases/web/r-current/slot-1', 'ready/web/r-current/m0', 'ready/web/r-current/m1']);
    expect((await keys()).some((k) => k.includes('r-young'))).toBe(true);
    expect((await keys()).some((k) => k.includes('r-old'))).toBe(false);
  });
});
