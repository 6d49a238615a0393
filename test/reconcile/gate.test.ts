import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { countRequests, type RequestCounter } from '../../src/fetch/counting-store.js';
import { fetchTurn } from '../../src/reconcile/step-gate.js';
import { passRolloutGate } from '../../src/reconcile/steps/gate.js';
import { systemClock } from '../../src/rollout/clock.js';
import { LOOK_AGAIN_MIN_MS } from '../../src/rollout/look-again.js';
import { acquireSlot } from '../../src/rollout/lease.js';
import { LeaseObserver } from '../../src/rollout/lease-observer.js';
import { rolloutIdFor } from '../../src/rollout/planner.js';
import { writeQuarantine } from '../../src/rollout/quarantine.js';
import { listReadyMarkers, listRolloutMarkers, writeReadyMarker, writeSwitchingMarker } from '../../src/rollout/ready-marker.js';
import type { Generation } from '../../src/generations/index.js';
import { Reason } from '../../src/status/conditions.js';
import type { Digest } from '../../src/store/digest.js';
import { createSetWorld, machinesOfBatch, openRun, PLATFORM, steppingClock, type SetWorld, type SetYamlOptions } from './set-world.js';

let world: SetWorld;
beforeEach(async () => (world = await createSetWorld()));
afterEach(async () => world.cleanup());

const FLEET = ['a', 'b', 'c', 'd', 'e', 'f'];
const BATCHED = { machines: FLEET, rollout: '{ canary: 1, batchSize: 1 }' };
const ALL = { machines: FLEET, rollout: '{ batchSize: all }' };

interface Row {
  name: string;
  set: SetYamlOptions;
  /** Which batch this machine is in. */
  batch?: number;
  coordination?: 'none' | 'unsafe' | 'safe';
  /** Prepare the coordination store before the gate runs. */
  given?: (digest: Digest, rolloutId: string) => Promise<void>;
  files?: (digest: Digest) => Record<string, string>;
  want: { go: true; lease: boolean } | { go: false; result: 'failed' | 'waiting'; reason: string; stalled: boolean };
}

const quarantinedBy = (machine: string) => async (digest: Digest): Promise<void> => {
  await writeQuarantine(world.store, 'web', digest, { machine, reason: 'HealthCheckFailed', message: 'answered 500', time: new Date().toISOString() });
};
/** An allow window of one hour on the day after tomorrow (UTC): closed now, open some day. */
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const LATER = DAYS[(new Date().getUTCDay() + 2) % 7]!;

const rows: Row[] = [
  { name: 'no coordination store and no batches: go, without a lease', set: { rollout: '{ batchSize: all }' }, coordination: 'none', want: { go: true, lease: false } },
  { name: 'batches without a coordination store: refused as unsafe', set: BATCHED, coordination: 'none', want: { go: false, result: 'failed', reason: Reason.CoordinationUnsafe, stalled: true } },
  { name: 'batches on a store without conditional writes: refused as unsafe', set: BATCHED, coordination: 'unsafe', want: { go: false, result: 'failed', reason: Reason.CoordinationUnsafe, stalled: true } },
  { name: 'coordinated, no batches, nothing in the way: go, without a lease', set: ALL, want: { go: true, lease: false } },
  { name: 'quarantined by another machine (maxFailures 0): waits, stalled', set: ALL, given: quarantinedBy('b'), want: { go: false, result: 'waiting', reason: Reason.Quarantined, stalled: true } },
  { name: 'one failure within maxFailures 1: go', set: { machines: FLEET, rollout: '{ batchSize: all, maxFailures: 1 }' }, given: quarantinedBy('b'), want: { go: true, lease: false } },
  { name: 'earlier batches not Ready: waits for them', set: BATCHED, batch: 2, want: { go: false, result: 'waiting', reason: Reason.WaitingForBatch, stalled: false } },
  { name: 'its batch is open: go, holding a slot', set: BATCHED, batch: 0, want: { go: true, lease: true } },
  {
    name: 'every slot held by another machine: waits for a slot', set: BATCHED, batch: 0,
    given: async (digest, rollout) => void (await acquireSlot({ store: world.store, set: 'web', rollout, slots: 1, machine: 'z', holder: 'z-1', digest, ttlMs: 60_000, clock: systemClock, observations: new LeaseObserver() })),
    want: { go: false, result: 'waiting', reason: Reason.WaitingForSlot, stalled: false },
  },
  { name: 'no maintenance window open now: waits for a window', set: { machines: FLEET, rollout: `{ batchSize: all, windows: [{ days: [${LATER}], start: "00:00", duration: 1h, timeZone: UTC }] }` }, want: { go: false, result: 'waiting', reason: Reason.WaitingForWindow, stalled: false } },
  {
    name: 'a dependency not Ready: waits for it', set: { machines: FLEET, rollout: '{ batchSize: all, dependsOn: [db] }' },
    files: (digest) => ({ 'sets/db.yaml': `closure: ${digest}\nplatform: ${PLATFORM}\nmachines: [db-1]\n` }),
    want: { go: false, result: 'waiting', reason: Reason.WaitingForDependency, stalled: false },
  },
];

describe('step gate', () => {
  it.each(rows)('$name', async (row) => {
    const v1 = await world.push('v1');
    const files = row.files?.(v1) ?? {};
    const machine = machinesOfBatch(world, v1, row.set, row.batch ?? 0, files)[0]!;
    const coordination = row.coordination ?? 'safe';
    const ctx = world.context({
      closure: v1, set: row.set, machine, files,
      coordination: coordination === 'none' ? null : world.store, coordinationSafe: coordination === 'safe',
      // A waiting machine looks again within its tick: on this clock, at once.
      clock: steppingClock(),
    });
    const run = await openRun(ctx);
    await row.given?.(v1, run.plan.rolloutId);
    const r = await passRolloutGate.run(run);
    const rollout = { id: run.plan.rolloutId, batch: row.batch ?? 0 };
    if (!row.want.go) {
      const { result, reason, stalled } = row.want;
      expect(r).toMatchObject({ stop: { set: 'web', desired: v1, current: null, result, reason, stalled, rollout } });
      return;
    }
    if (!('next' in r)) throw new Error(`expected go, got ${JSON.stringify(r.stop)}`);
    const lease = r.next.granted?.lease ?? null;
    expect(lease !== null).toBe(row.want.lease);
    expect(r.next.granted?.rollout).toEqual(lease === null ? rollout : { ...rollout, token: lease.token });
    if (lease !== null) await lease.assertHeld();
  });
});

describe('step gate: the Ready marker of the digest a machine leaves', () => {
  it('is withdrawn before the switch, so a later rollout of that digest (same id) does not count the machine done', async () => {
    const v0 = await world.push('v0');
    const v1 = await world.push('v1');
    const machine = machinesOfBatch(world, v1, BATCHED, 0)[0]!;
    const ctx = world.context({ closure: v1, set: BATCHED, machine, coordination: world.store, coordinationSafe: true });
    const run = await openRun(ctx);
    const oldId = rolloutIdFor('web', v0);
    await writeReadyMarker(world.store, { set: 'web', rolloutId: oldId, digest: v0, machine, at: new Date() });
    const other = machinesOfBatch(world, v1, BATCHED, 1)[0]!;
    await writeReadyMarker(world.store, { set: 'web', rolloutId: oldId, digest: v0, machine: other, at: new Date() });
    // It runs v0 (generation 1) and goes to v1.
    const current: Generation = { number: 1, dirName: '1-v0', path: '/nonexistent', digest: v0, origin: { version: 1, set: 'web', number: 1, digest: v0, time: new Date().toISOString(), packages: [] } };
    const r = await passRolloutGate.run({ ...run, current });
    if (!('next' in r)) throw new Error(`expected go, got ${JSON.stringify(r.stop)}`);
    expect([...(await listReadyMarkers(world.store, 'web', oldId)).keys()]).toEqual([other]);
    await r.next.granted?.lease?.release();
  });
});

describe('step gate: a wait for a batch that cannot be done yet', () => {
  it('ends the tick asking to tick again when it can be done (followAfterMs), and costs nothing until then', async () => {
    const v1 = await world.push('v1');
    const plan = (await openRun(world.context({ closure: v1, set: BATCHED, machine: FLEET[0]!, coordination: world.store, coordinationSafe: true }))).plan;
    // Batches 0 and 1 turned done 100 s apart, batch 1 100 s ago: batch 4 (the one before batch 5) can be
    // done in about 200 s at the earliest.
    const now = Date.now();
    for (const [k, t] of [[0, now - 200_000], [1, now - 100_000]] as const) {
      const m = plan.batches[k]![0]!;
      await writeReadyMarker(world.store, { set: 'web', rolloutId: plan.rolloutId, digest: v1, machine: m, at: new Date(t) });
      await utimes(join(world.root, 'store', 'ready', 'web', plan.rolloutId, m), new Date(t), new Date(t));
    }
    const me = plan.batches[5]![0]!;
    const counter: RequestCounter = { requests: 0 };
    const ctx = world.context({ closure: v1, set: BATCHED, machine: me, coordination: countRequests(world.store, counter), coordinationSafe: true });
    const run = await openRun(ctx);
    const r = await passRolloutGate.run(run);
    if (!('stop' in r)) throw new Error('expected a wait');
    expect(r.stop).toMatchObject({ result: 'waiting', reason: Reason.WaitingForBatch });
    expect(r.stop.followAgain).toBeUndefined();
    expect(r.stop.followAfterMs).toBeGreaterThan(150_000);
    expect(r.stop.followAfterMs).toBeLessThanOrEqual(200_000);
    // The next tick's gate (same agent process: same memory) answers from what it holds, without the store.
    expect(counter.requests).toBeGreaterThan(0);
    counter.requests = 0;
    const again = await passRolloutGate.run(await openRun(ctx));
    expect('stop' in again && again.stop.reason).toBe(Reason.WaitingForBatch);
    expect(counter.requests).toBe(0);
  });
});

describe('step gate: a young rollout, whose pace is not known yet', () => {
  it('a machine two batches behind the working canary looks again sooner than its poll, at growing waits, and ends the tick with followAfterMs', async () => {
    const v1 = await world.push('v1');
    const me = machinesOfBatch(world, v1, BATCHED, 2)[0]!;
    const clock = steppingClock();
    const ctx = world.context({ closure: v1, set: BATCHED, machine: me, coordination: world.store, coordinationSafe: true, clock });
    const r = await passRolloutGate.run(await openRun(ctx));
    if (!('stop' in r)) throw new Error('expected a wait');
    expect(r.stop).toMatchObject({ result: 'waiting', reason: Reason.WaitingForBatch });
    // Not the look a second of a machine whose batch before works: the canary's batch is not the one before.
    expect(r.stop.followAgain).toBeUndefined();
    expect(r.stop.followAfterMs).toBeGreaterThan(LOOK_AGAIN_MIN_MS);
    // Within the tick (a minute at most) it looked again at waits growing by half: a dozen looks, not sixty.
    expect(clock.slept.length).toBeGreaterThan(3);
    expect(clock.slept.length).toBeLessThan(20);
    expect(clock.slept.at(-1)).toBeGreaterThan(4 * clock.slept[0]!);
  });

  it('a machine waiting for its fetch turn looks again the same way, then is told when to look next', async () => {
    const v1 = await world.push('v1');
    const me = machinesOfBatch(world, v1, BATCHED, 4)[0]!;
    const clock = steppingClock();
    const ctx = world.context({ closure: v1, set: BATCHED, machine: me, coordination: world.store, coordinationSafe: true, clock });
    const { plan } = await openRun(ctx);
    const turn = await fetchTurn(ctx, plan);
    expect(turn?.followAfterMs).toBeGreaterThan(LOOK_AGAIN_MIN_MS);
    expect(clock.slept.length).toBeGreaterThan(3);
    expect(clock.slept.length).toBeLessThan(20);
    expect(clock.slept.at(-1)).toBeGreaterThan(4 * clock.slept[0]!);
    // Ten minutes on, with nothing done, the next look is half the rollout's age away: the tick ends at once.
    clock.advance(600_000);
    clock.slept.length = 0;
    expect((await fetchTurn(ctx, plan))?.followAfterMs).toBeGreaterThan(300_000);
    expect(clock.slept).toEqual([]);
  });

  it('a young rollout\'s fetch turn reads status files at most every 10 s, however often it looks', async () => {
    const v1 = await world.push('v1');
    const me = machinesOfBatch(world, v1, BATCHED, 4)[0]!;
    const clock = steppingClock();
    // Counts only the status-file reads (the markers' LIST and the quarantine read are the looks' own cost).
    const statusReads = { n: 0 };
    const counted = new Proxy(world.store, {
      get(target, prop, receiver): unknown {
        const v: unknown = Reflect.get(target, prop, receiver);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]): unknown => {
          if ((prop === 'get' || prop === 'getBytes' || prop === 'getIfChanged') && typeof args[0] === 'string' && args[0].startsWith('status/')) statusReads.n += 1;
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const ctx = world.context({ closure: v1, set: BATCHED, machine: me, coordination: counted, coordinationSafe: true, clock });
    const { plan } = await openRun(ctx);
    await fetchTurn(ctx, plan);
    const looks = clock.slept.length + 1;
    const elapsedMs = clock.slept.reduce((a, b) => a + b, 0);
    expect(looks).toBeGreaterThan(5);
    expect(statusReads.n).toBeGreaterThan(0);
    expect(statusReads.n).toBeLessThanOrEqual(Math.floor(elapsedMs / 10_000) + 1);
    expect(statusReads.n).toBeLessThan(looks);
  });
});

describe('step gate: past the follow budget', () => {
  it('a machine whose batch before still works looks again later on its own, not at its next poll', async () => {
    const v1 = await world.push('v1');
    const me = machinesOfBatch(world, v1, BATCHED, 1)[0]!;
    const clock = steppingClock();
    const ctx = world.context({ closure: v1, set: BATCHED, machine: me, coordination: world.store, coordinationSafe: true, clock });
    // The canary works (no marker, no report): the follower's ticks follow it a minute each, then ask for the next.
    let r = await passRolloutGate.run(await openRun(ctx));
    for (let i = 0; i < 20 && 'stop' in r && r.stop.followAgain === true; i++) r = await passRolloutGate.run(await openRun(ctx));
    if (!('stop' in r)) throw new Error('expected a wait');
    expect(r.stop.followAgain).toBeUndefined();
    // Its 15 minutes spent, the next look is half the time the canary has worked: minutes away, yet before a poll of an hour.
    expect(r.stop.followAfterMs).toBeGreaterThan(5 * 60_000);
    expect(r.stop.followAfterMs).toBeLessThan(15 * 60_000);
  });
});

describe('step gate: switching markers (switch-watch.ts)', () => {
  it('a machine through its gate writes its switching marker at an hourly poll; the final batch, which nobody follows, writes none', async () => {
    const v1 = await world.push('v1');
    const plan = (await openRun(world.context({ closure: v1, set: BATCHED, machine: FLEET[0]!, coordination: world.store, coordinationSafe: true }))).plan;
    const first = plan.batches[0]![0]!;
    const r = await passRolloutGate.run(await openRun(world.context({ closure: v1, set: BATCHED, machine: first, coordination: world.store, coordinationSafe: true, pollSpanMs: 3_600_000 })));
    if (!('next' in r)) throw new Error(`expected go, got ${JSON.stringify(r.stop)}`);
    await r.next.granted?.lease?.release();
    expect([...(await listRolloutMarkers(world.store, 'web', plan.rolloutId)).switching.keys()]).toEqual([first]);
    const last = plan.batches.length - 1;
    for (let k = 0; k < last; k++) for (const m of plan.batches[k]!) await writeReadyMarker(world.store, { set: 'web', rolloutId: plan.rolloutId, digest: v1, machine: m, at: new Date() });
    const final = plan.batches[last]![0]!;
    const f = await passRolloutGate.run(await openRun(world.context({ closure: v1, set: BATCHED, machine: final, coordination: world.store, coordinationSafe: true, pollSpanMs: 3_600_000 })));
    if (!('next' in f)) throw new Error(`expected go, got ${JSON.stringify(f.stop)}`);
    expect([...(await listRolloutMarkers(world.store, 'web', plan.rolloutId)).switching.keys()]).toEqual([first]);
    // Readers of Ready markers never take a switching marker for one.
    expect([...(await listReadyMarkers(world.store, 'web', plan.rolloutId)).keys()].sort()).toEqual(plan.batches.slice(0, last).flat().sort());
  });

  it('at a poll within the follow budget (the default 30 s) a machine through its gate writes no switching marker', async () => {
    const v1 = await world.push('v1-short-poll');
    const plan = (await openRun(world.context({ closure: v1, set: BATCHED, machine: FLEET[0]!, coordination: world.store, coordinationSafe: true }))).plan;
    const first = plan.batches[0]![0]!;
    const r = await passRolloutGate.run(await openRun(world.context({ closure: v1, set: BATCHED, machine: first, coordination: world.store, coordinationSafe: true })));
    if (!('next' in r)) throw new Error(`expected go, got ${JSON.stringify(r.stop)}`);
    await r.next.granted?.lease?.release();
    expect([...(await listRolloutMarkers(world.store, 'web', plan.rolloutId)).switching.keys()]).toEqual([]);
  });

  it('past the follow budget, a batch before whose every machine left is switching is still followed', async () => {
    const v1 = await world.push('v1');
    const me = machinesOfBatch(world, v1, BATCHED, 1)[0]!;
    const clock = steppingClock();
    const ctx = world.context({ closure: v1, set: BATCHED, machine: me, coordination: world.store, coordinationSafe: true, clock });
    const plan = (await openRun(ctx)).plan;
    const canary = plan.batches[0]![0]!;
    const elapsed = (): number => clock.slept.reduce((a, b) => a + b, 0);
    let r = await passRolloutGate.run(await openRun(ctx));
    // The canary begins its switch late, 14 minutes into the follower's budget (at its own poll).
    while (elapsed() < 14 * 60_000 && 'stop' in r && r.stop.followAgain === true) r = await passRolloutGate.run(await openRun(ctx));
    await writeSwitchingMarker(world.store, 'web', plan.rolloutId, canary);
    const t = clock.now();
    await utimes(join(world.root, 'store', 'ready', 'web', plan.rolloutId, '~switching', canary), t, t);
    while (elapsed() < 20 * 60_000 && 'stop' in r && r.stop.followAgain === true) r = await passRolloutGate.run(await openRun(ctx));
    if (!('stop' in r)) throw new Error('expected a wait');
    // 20 minutes in, 5 past the budget: still a look a second, since the canary is seen switching.
    expect(elapsed()).toBeGreaterThanOrEqual(20 * 60_000);
    expect(r.stop.followAgain).toBe(true);
  });

  it('past the budget, a tick that starts in the last seconds of a switch hold follows the switch, not a look-again later', async () => {
    const v1 = await world.push('v1');
    const me = machinesOfBatch(world, v1, BATCHED, 2)[0]!;
    const clock = steppingClock();
    const ctx = world.context({ closure: v1, set: BATCHED, machine: me, coordination: world.store, coordinationSafe: true, clock });
    const plan = (await openRun(ctx)).plan;
    const [canary, one] = [plan.batches[0]![0]!, plan.batches[1]![0]!];
    const elapsed = (): number => clock.slept.reduce((a, b) => a + b, 0);
    const stamp = async (key: string[], at: Date): Promise<void> => utimes(join(world.root, 'store', 'ready', 'web', plan.rolloutId, ...key), at, at);
    // The canary switched in 101 s and is Ready; batch 1 works with no marker for 16 minutes: the budget is spent.
    await writeSwitchingMarker(world.store, 'web', plan.rolloutId, canary);
    await stamp(['~switching', canary], new Date(clock.now().getTime() - 130_000));
    await writeReadyMarker(world.store, { set: 'web', rolloutId: plan.rolloutId, digest: v1, machine: canary, at: clock.now() });
    await stamp([canary], new Date(clock.now().getTime() - 29_000));
    let r = await passRolloutGate.run(await openRun(ctx));
    while (elapsed() < 16 * 60_000 && 'stop' in r) r = await passRolloutGate.run(await openRun(ctx));
    // Batch 1 begins its switch now: the next look is held until it can be done, 100 s on (longer than a tick follows).
    await writeSwitchingMarker(world.store, 'web', plan.rolloutId, one);
    await stamp(['~switching', one], clock.now());
    r = await passRolloutGate.run(await openRun(ctx));
    if (!('stop' in r)) throw new Error('expected a wait');
    expect(r.stop.followAfterMs).toBeGreaterThan(90_000);
    expect(r.stop.followAfterMs).toBeLessThanOrEqual(100_000);
    // A tick (a poll's) 3 s before the hold ends: it waits them out, sees batch 1 switching, and keeps following.
    clock.advance((r.stop.followAfterMs ?? 0) - 3_000);
    r = await passRolloutGate.run(await openRun(ctx));
    if (!('stop' in r)) throw new Error('expected a wait');
    expect(r.stop.followAgain).toBe(true);
  });
});
