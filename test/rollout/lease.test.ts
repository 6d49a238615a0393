import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaseError } from '../../src/errors/index.js';
import { acquireSlot, type AcquireOptions, type Lease } from '../../src/rollout/lease.js';
import { listSlotLeases, unlockMachine } from '../../src/rollout/lease-admin.js';
import { parseLeaseRecord } from '../../src/rollout/lease-record.js';
import type { Store } from '../../src/store/store.js';
import { countRequests, type RequestCounter } from '../../src/fetch/counting-store.js';
import { openStore } from '../../src/store/open-store.js';
import { s3TestUrl } from '../helpers/s3-test-store.js';
import { FakeClock, contender, tempFsStore } from './lease-helpers.js';

const SLOW = process.env.FLOTILLA_SLOW === '1';

async function readSlot(store: Store, slot = 0, rollout = 'r-test') {
  return parseLeaseRecord(await store.getBytes(`leases/web/${rollout}/slot-${slot}`, { maxBytes: 65536 }));
}

/** The same protocol suite on every backend that claims conditional writes. */
function runLeaseSuite(name: string, open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  describe(`lease protocol on ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(async () => cleanup());

    it(`${SLOW ? 50 : 20} in-process contenders for one slot: exactly one winner per round, tokens strictly increase`, { timeout: 600_000 }, async () => {
      const n = SLOW ? 50 : 20;
      const rounds = SLOW ? 30 : 8;
      const contenders = Array.from({ length: n }, (_, i) => contender(store, `m${i}`));
      let lastToken = 0;
      for (let r = 0; r < rounds; r++) {
        const results = await Promise.all(contenders.map((c) => acquireSlot(c)));
        const winners = results.filter((l): l is Lease => l !== null);
        expect(winners.length).toBe(1);
        expect(winners[0]!.token).toBeGreaterThan(lastToken);
        lastToken = winners[0]!.token;
        await winners[0]!.release();
      }
    });

    it('shares a batch of 3 slots among 10 contenders: exactly 3 winners, distinct slots, each fenced by its own slot', async () => {
      const contenders = Array.from({ length: 10 }, (_, i) => contender(store, `m${i}`, { slots: 3 }));
      const winners = (await Promise.all(contenders.map((c) => acquireSlot(c)))).filter((l): l is Lease => l !== null);
      expect(winners.length).toBe(3);
      expect(new Set(winners.map((w) => w.slot))).toEqual(new Set([0, 1, 2]));
      // The token is the slot's own: the first holder of each new slot has 1; no rollout-wide counter object.
      expect(winners.map((w) => w.token)).toEqual([1, 1, 1]);
      expect((await store.list('leases/web/r-test/')).items.map((i) => i.key).sort()).toEqual([0, 1, 2].map((k) => `leases/web/r-test/slot-${k}`));
      for (const w of winners) expect((await readSlot(store, w.slot))!).toMatchObject({ holder: w.holder, token: w.token });
    });

    it('a batch taking its slots at once writes each slot once and reads nothing (no shared counter to contend on)', async () => {
      const counter: RequestCounter = { requests: 0 };
      const counted = countRequests(store, counter);
      const leases = await Promise.all(Array.from({ length: 5 }, (_, i) => acquireSlot({ ...contender(counted, `b${i}`, { slots: 5 }), preferredSlot: i })));
      expect(leases.every((l) => l !== null)).toBe(true);
      // Per machine: the create-if-absent of its own slot and the check that the same write now loses.
      expect(counter.requests).toBe(5 * 2);
    });

    it('tokens grow strictly per slot over takeovers, tombstones and adoptions, and each one fences the holder before', async () => {
      const tokens: number[] = [];
      const a = (await acquireSlot(contender(store, 'a')))!;
      tokens.push(a.token);
      await a.release();
      const b = (await acquireSlot(contender(store, 'b', { holder: 'b-pid1' })))!;
      tokens.push(b.token);
      const b2 = (await acquireSlot(contender(store, 'b', { holder: 'b-pid2' })))!;
      tokens.push(b2.token);
      await expect(b.renew()).rejects.toBeInstanceOf(LeaseError);
      const o = contender(store, 'c');
      expect(await acquireSlot(o)).toBeNull();
      (o.clock as FakeClock).advance(60_000);
      const c = (await acquireSlot(o))!;
      tokens.push(c.token);
      await expect(b2.renew()).rejects.toBeInstanceOf(LeaseError);
      await expect(b2.release()).rejects.toBeInstanceOf(LeaseError);
      expect(tokens).toEqual([1, 2, 3, 4]);
      expect((await readSlot(store))!).toMatchObject({ holder: c.holder, token: 4 });
    });

    it('machines given their batch positions as preferred slots each take that slot', async () => {
      const contenders = Array.from({ length: 3 }, (_, i) => ({ ...contender(store, `p${i}`, { slots: 3 }), preferredSlot: 2 - i }));
      const leases = await Promise.all(contenders.map((c) => acquireSlot(c)));
      expect(leases.map((l) => l?.slot)).toEqual([2, 1, 0]);
    });

    it('a live lease is never taken while its holder renews, however long the observer watches', async () => {
      const holder = await acquireSlot(contender(store, 'holder'));
      expect(holder).not.toBeNull();
      const observer = contender(store, 'observer');
      const clock = observer.clock as FakeClock;
      for (let i = 0; i < 5; i++) {
        expect(await acquireSlot(observer)).toBeNull();
        clock.advance(50_000); // less than the TTL since the last change it saw
        await holder!.renew();
      }
      expect(await acquireSlot(observer)).toBeNull();
      await holder!.assertHeld();
    });

    it('an expired lease is taken over by exactly one of several observers, and the old holder fails', async () => {
      const old = (await acquireSlot(contender(store, 'old')))!;
      const observers = Array.from({ length: 8 }, (_, i) => contender(store, `obs${i}`));
      for (const o of observers) expect(await acquireSlot(o)).toBeNull();
      for (const o of observers) (o.clock as FakeClock).advance(60_000);
      const results = (await Promise.all(observers.map((o) => acquireSlot(o)))).filter((l): l is Lease => l !== null);
      expect(results.length).toBe(1);
      const fresh = results[0]!;
      expect(fresh.token).toBeGreaterThan(old.token);
      await expect(old.renew()).rejects.toBeInstanceOf(LeaseError);
      await expect(old.release()).rejects.toBeInstanceOf(LeaseError);
      await expect(old.assertHeld()).rejects.toBeInstanceOf(LeaseError);
      await fresh.renew();
      await fresh.assertHeld();
      expect((await readSlot(store))!.holder).toBe(fresh.holder);
    });

    it('a fresh observer must watch a full TTL before taking over (a restart does not shortcut expiry)', async () => {
      await acquireSlot(contender(store, 'dead'));
      const o = contender(store, 'late');
      (o.clock as FakeClock).advance(10 * 60_000); // time passed before it ever looked: irrelevant
      expect(await acquireSlot(o)).toBeNull();
      (o.clock as FakeClock).advance(59_999);
      expect(await acquireSlot(o)).toBeNull();
      (o.clock as FakeClock).advance(1);
      expect(await acquireSlot(o)).not.toBeNull();
    });

    it('clock skew of ±1 h: a skewed observer neither steals a live lease nor a skewed holder hoards a dead one', async () => {
      for (const skew of [3_600_000, -3_600_000]) {
        const rollout = `r-skew${skew > 0 ? 'p' : 'm'}`;
        // A holder whose wall clock is off by `skew` writes timestamps an hour off; a normal observer ignores them.
        const skewedHolder = (await acquireSlot(contender(store, 'skewed', { rollout, clock: new FakeClock(skew) })))!;
        const normal = contender(store, 'normal', { rollout });
        expect(await acquireSlot(normal)).toBeNull();
        (normal.clock as FakeClock).advance(30_000);
        await skewedHolder.renew();
        (normal.clock as FakeClock).advance(59_000);
        expect(await acquireSlot(normal)).toBeNull(); // renewed 59 s ago on the observer's clock: live
        // The skewed holder dies (stops renewing): after one TTL on the observer's clock it is free.
        (normal.clock as FakeClock).advance(60_000);
        const taken = (await acquireSlot(normal))!;
        expect(taken).not.toBeNull();
        // A skewed observer sees a lease "acquired an hour ago" (or in the future) and still waits its TTL.
        const skewedObserver = contender(store, 'skewed2', { rollout, clock: new FakeClock(skew) });
        expect(await acquireSlot(skewedObserver)).toBeNull();
        (skewedObserver.clock as FakeClock).advance(30_000);
        await taken.renew();
        (skewedObserver.clock as FakeClock).advance(59_000);
        expect(await acquireSlot(skewedObserver)).toBeNull();
        await taken.assertHeld();
      }
    });

    it('judges expiry by the longer of the holder\'s TTL and the observer\'s', async () => {
      await acquireSlot(contender(store, 'long', { ttlMs: 120_000 }));
      const o = contender(store, 'short', { ttlMs: 10_000 });
      expect(await acquireSlot(o)).toBeNull();
      (o.clock as FakeClock).advance(60_000);
      expect(await acquireSlot(o)).toBeNull();
      (o.clock as FakeClock).advance(60_000);
      expect(await acquireSlot(o)).not.toBeNull();
    });

    it('a restarted agent on the same machine adopts its own slot at once, fencing out its former life', async () => {
      const before = (await acquireSlot(contender(store, 'web-1', { holder: 'web-1-pid1' })))!;
      const after = (await acquireSlot(contender(store, 'web-1', { holder: 'web-1-pid2' })))!;
      expect(after).not.toBeNull();
      expect(after.token).toBeGreaterThan(before.token);
      await expect(before.renew()).rejects.toBeInstanceOf(LeaseError);
    });

    it('ownOnly (a restarted agent\'s recovery) reads its own slot only: adopts it when its machine holds it, else takes nothing', async () => {
      const slots = 5;
      const others = await Promise.all([0, 1, 3, 4].map((k) => acquireSlot({ ...contender(store, `o${k}`, { slots }), preferredSlot: k })));
      expect(others.every((l) => l !== null)).toBe(true);
      const counter: RequestCounter = { requests: 0 };
      const look = (machine: string, holder: string): AcquireOptions => ({ ...contender(countRequests(store, counter), machine, { slots, holder }), preferredSlot: 2, ownOnly: true });
      // Nothing of ours at position 2: one read, nothing taken, although slot 2 is free.
      expect(await acquireSlot(look('web-1', 'web-1-pid1'))).toBeNull();
      expect(counter.requests).toBe(1);
      expect((await listSlotLeases(store, 'web')).filter((l) => l.state === 'held').map((l) => l.machine).sort()).toEqual(['o0', 'o1', 'o3', 'o4']);
      // Our machine's former life holds it: adopted (fenced), without reading the other four slots.
      const before = (await acquireSlot({ ...contender(store, 'web-1', { slots, holder: 'web-1-pid1' }), preferredSlot: 2 }))!;
      counter.requests = 0;
      const after = (await acquireSlot(look('web-1', 'web-1-pid2')))!;
      expect(after.slot).toBe(2);
      expect(after.token).toBeGreaterThan(before.token);
      // Its read, the claim (carrying the token) and its write check: a listing and the four other slots'
      // reads (the full pass) would make it 8.
      expect(counter.requests).toBe(3);
      await expect(before.renew()).rejects.toBeInstanceOf(LeaseError);
      // Another machine's slot is never adopted by ownOnly.
      expect(await acquireSlot({ ...look('o1', 'o1-pid2'), preferredSlot: 3 })).toBeNull();
    });

    it('release leaves a tombstone that the next contender takes at once', async () => {
      const a = (await acquireSlot(contender(store, 'a')))!;
      await a.release();
      await a.release(); // idempotent
      expect((await readSlot(store))!.state).toBe('released');
      const b = (await acquireSlot(contender(store, 'b')))!;
      expect(b.token).toBeGreaterThan(a.token);
      await expect(a.renew()).rejects.toBeInstanceOf(LeaseError);
    });

    it('a renewal still in flight when the holder releases lands first, and the release after it (no race over one etag)', async () => {
      // The lease keeper's beat may have sent a renewal just before a healthy machine releases its slot.
      const a = (await acquireSlot(contender(store, 'a')))!;
      await Promise.all([a.renew(), a.release(), a.renew().then(() => 'renewed', (err: unknown) => err)]).then(([, , late]) => {
        // A renewal asked for after the release finds the slot released by us, as it must.
        expect(late).toBeInstanceOf(LeaseError);
      });
      expect((await readSlot(store))!).toMatchObject({ state: 'released', holder: a.holder, token: a.token });
    });

    it('an operator unlock frees the slot and the holder learns it on its next write', async () => {
      const a = (await acquireSlot(contender(store, 'stuck', { slots: 2 })))!;
      const b = (await acquireSlot(contender(store, 'other', { slots: 2 })))!;
      expect(await unlockMachine(store, 'web', 'stuck')).toEqual([`leases/web/r-test/slot-${a.slot}`]);
      expect(await unlockMachine(store, 'web', 'stuck')).toEqual([]);
      await expect(a.renew()).rejects.toThrow(/no longer ours/);
      await b.renew();
      const held = (await listSlotLeases(store, 'web')).filter((l) => l.state === 'held');
      expect(held.map((l) => l.machine)).toEqual(['other']);
      expect(await acquireSlot(contender(store, 'next', { slots: 2 }))).not.toBeNull();
    });

    it('never takes an unparseable slot object (its next token could not be shown to grow), and takes another free slot', async () => {
      await store.put('leases/web/r-test/slot-0', Buffer.from('garbage'));
      const o: AcquireOptions = contender(store, 'o');
      expect(await acquireSlot(o)).toBeNull();
      (o.clock as FakeClock).advance(10 * 60_000);
      expect(await acquireSlot(o)).toBeNull();
      expect((await store.getBytes('leases/web/r-test/slot-0', { maxBytes: 100 })).toString()).toBe('garbage');
      const two = (await acquireSlot({ ...contender(store, 'o', { slots: 2 }), preferredSlot: 0 }))!;
      expect(two.slot).toBe(1);
    });

    it('rejects nonsense arguments', async () => {
      await expect(acquireSlot(contender(store, 'x', { slots: 0 }))).rejects.toThrow(/slots/);
      await expect(acquireSlot(contender(store, 'x', { ttlMs: 0 }))).rejects.toThrow(/ttlMs/);
      await expect(acquireSlot(contender(store, 'x', { set: '../etc' }))).rejects.toThrow(/set name/);
    });
  });
}

runLeaseSuite('the directory store', tempFsStore);
runLeaseSuite('S3 (Ceph RGW)', async () => {
  const store = openStore(await s3TestUrl('leases-test/'));
  return { store, cleanup: () => store.close() };
});
