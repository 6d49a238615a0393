// Ready markers (ready/SET/ROLLOUT/MACHINE) on real stores: written once with the report turning Ready, the
// gate judging earlier batches from one LIST of them, and what must not open the gate.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { countRequests, type RequestCounter } from '../../src/fetch/counting-store.js';
import { earliestDoneMs } from '../../src/rollout/batch-pace.js';
import { GateMemory } from '../../src/rollout/gate-memory.js';
import { decideWithReads } from '../../src/rollout/gate-reads.js';
import { planRollout, rolloutIdFor, type RolloutPlan } from '../../src/rollout/planner.js';
import { writeQuarantine } from '../../src/rollout/quarantine.js';
import { listReadyMarkers, listRolloutMarkers, markReadyAfterReport, markerDue, withdrawReadyMarker, writeReadyMarker, writeSwitchingMarker } from '../../src/rollout/ready-marker.js';
import { Reason } from '../../src/status/conditions.js';
import { MACHINE_STATUS_SCHEMA, type MachineStatus } from '../../src/status/machine-status.js';
import { digestFromHex, type Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { s3TestUrl } from '../helpers/s3-test-store.js';
import { tempFsStore } from './lease-helpers.js';

const OLD = digestFromHex('0'.repeat(64));
const NEW = digestFromHex('1'.repeat(64));

function report(machine: string, digest: Digest, state: 'Ready' | 'Waiting', at: Date, rolloutId = rolloutIdFor('web', NEW)): MachineStatus {
  const ready = state === 'Ready';
  return {
    schema: MACHINE_STATUS_SCHEMA, machine, set: 'web', desiredDigest: NEW, currentDigest: digest, generation: 2, commit: null, state,
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? Reason.Succeeded : Reason.WaitingForBatch, message: '', lastTransitionTime: at.toISOString() }],
    rollout: { id: rolloutId, batch: 0 }, reportedAt: at.toISOString(), agentVersion: 'test',
  };
}

function plan4x(b: number): RolloutPlan {
  const machines = Array.from({ length: 4 * b }, (_, i) => `m${String(i).padStart(3, '0')}`);
  return planRollout({ set: 'web', target: NEW, machines, settings: { canary: 0, batchSize: { kind: 'count', count: b } } });
}

function runMarkerSuite(name: string, open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  describe(`Ready markers on ${name}`, () => {
    let raw: Store;
    let store: Store;
    let counter: RequestCounter;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store: raw, cleanup } = await open());
      counter = { requests: 0 };
      store = countRequests(raw, counter);
    });
    afterEach(async () => cleanup());

    const mark = (plan: RolloutPlan, m: string, rolloutId = plan.rolloutId) => writeReadyMarker(raw, { set: 'web', rolloutId, digest: NEW, machine: m, at: new Date() });
    const decider = (plan: RolloutPlan, machine: string, memory = new GateMemory()) => (maxFailures = 0) => decideWithReads({
      store, plan, machine, settings: { pauseBetweenBatchesMs: 0, maxFailures, windows: [] }, dependencies: [],
      overrideWindows: false, now: new Date(), staleAfterMs: 600_000, unreachable: { budget: 0, afterMs: 900_000 }, memory,
    });

    it('is written once per rollout, with the report that turns Ready, and never replaced', async () => {
      const rid = rolloutIdFor('web', NEW);
      const t0 = new Date(Date.now() - 60_000);
      const waiting = report('a', OLD, 'Waiting', t0);
      const ready = report('a', NEW, 'Ready', new Date());
      expect(markerDue(undefined, waiting)).toBe(false);
      expect(markerDue(waiting, ready)).toBe(true);
      expect(markerDue(ready, { ...ready, reportedAt: new Date().toISOString() })).toBe(false); // a heartbeat of the same Ready
      expect(markerDue(report('a', NEW, 'Ready', t0, 'r-other'), ready)).toBe(true); // Ready before, on another rollout
      expect(markerDue(waiting, { ...ready, rollout: null })).toBe(false);
      await markReadyAfterReport(raw, waiting, ready);
      const first = await raw.getBytes(`ready/web/${rid}/a`, { maxBytes: 4096 });
      expect(JSON.parse(first.toString())).toMatchObject({ schema: 'flotilla.ready/v1', set: 'web', rollout: rid, digest: NEW, machine: 'a' });
      // A second write (another life of the agent) is create-if-absent: the first marker stays as it was.
      await writeReadyMarker(raw, { set: 'web', rolloutId: rid, digest: NEW, machine: 'a', at: new Date(Date.now() + 5000) });
      expect((await raw.getBytes(`ready/web/${rid}/a`, { maxBytes: 4096 })).equals(first)).toBe(true);
      expect([...(await listReadyMarkers(raw, 'web', rid)).keys()]).toEqual(['a']);
      await withdrawReadyMarker(raw, 'web', rid, 'a');
      await withdrawReadyMarker(raw, 'web', rid, 'a'); // absent is fine
      expect((await listReadyMarkers(raw, 'web', rid)).size).toBe(0);
    });

    it('opens the gate on markers alone: the quarantine GET and one LIST, no status file, at batch sizes 2 and 20', async () => {
      for (const b of [2, 20]) {
        const plan = plan4x(b);
        for (const m of plan.batches.slice(0, 3).flat()) await mark(plan, m);
        counter.requests = 0;
        const { decision, requests } = await decider(plan, plan.batches[3]![0]!)();
        expect(decision).toMatchObject({ allowed: true });
        expect(requests).toBe(2);
        await cleanupMarkers(raw, plan.rolloutId);
      }
    });

    it('stale or foreign markers do not open the gate: another rollout\'s, a later batch\'s, a non-member\'s', async () => {
      const plan = plan4x(3);
      const me = plan.batches[3]![0]!;
      for (const m of plan.batches.slice(0, 2).flat()) await mark(plan, m);
      const [x, y, last] = plan.batches[2]!;
      // The batch before: two of three marked on this rollout; the third only on another rollout (the same
      // machine's marker of an old target), and markers of machines that are not in the batches before.
      await mark(plan, x!);
      await mark(plan, y!);
      await mark(plan, last!, rolloutIdFor('web', OLD));
      for (const m of [me, plan.batches[3]![1]!, 'not-a-member']) await mark(plan, m);
      const decide = decider(plan, me);
      const waiting = (await decide()).decision;
      expect(waiting).toMatchObject({ allowed: false, reason: Reason.WaitingForBatch });
      expect(waiting.allowed ? '' : waiting.detail).toContain(last!);
      await mark(plan, last!);
      expect((await decide()).decision).toMatchObject({ allowed: true });
    });

    it('switching markers come back from the same one LIST, are never taken for Ready, and open no gate', async () => {
      const plan = plan4x(2);
      for (const m of plan.batches[0]!) await mark(plan, m);
      for (const m of plan.batches[1]!) await writeSwitchingMarker(raw, 'web', plan.rolloutId, m);
      counter.requests = 0;
      const both = await listRolloutMarkers(store, 'web', plan.rolloutId);
      expect(counter.requests).toBe(1);
      expect([...both.ready.keys()].sort()).toEqual([...plan.batches[0]!].sort());
      expect([...both.switching.keys()].sort()).toEqual([...plan.batches[1]!].sort());
      expect(both.switching.get(plan.batches[1]![0]!)).toBeGreaterThan(Date.now() - 600_000);
      expect([...(await listReadyMarkers(raw, 'web', plan.rolloutId)).keys()].sort()).toEqual([...plan.batches[0]!].sort());
      const d = await decider(plan, plan.batches[2]![0]!)();
      expect(d.decision).toMatchObject({ allowed: false, reason: Reason.WaitingForBatch });
    });

    it('a failed machine stops the line even with its marker; a machine with neither marker nor failure keeps it waiting', async () => {
      const plan = plan4x(3);
      const me = plan.batches[3]![0]!;
      for (const m of plan.batches.slice(0, 3).flat()) await mark(plan, m);
      const failed = plan.batches[1]![2]!;
      await writeQuarantine(raw, 'web', NEW, { machine: failed, reason: Reason.HealthCheckFailed, message: 'answered 500', time: new Date().toISOString() });
      expect((await decider(plan, me)()).decision).toMatchObject({ allowed: false, reason: Reason.Quarantined, stalled: true });
      // Tolerated (maxFailures 1) it counts as done; withdrawn from a machine of the batch before, that one blocks.
      expect((await decider(plan, me)(1)).decision).toMatchObject({ allowed: true });
      await withdrawReadyMarker(raw, 'web', plan.rolloutId, plan.batches[2]![1]!);
      expect((await decider(plan, me)(1)).decision).toMatchObject({ allowed: false, reason: Reason.WaitingForBatch });
    });
  });
}

async function cleanupMarkers(store: Store, rid: string): Promise<void> {
  for (const m of (await listReadyMarkers(store, 'web', rid)).keys()) await withdrawReadyMarker(store, 'web', rid, m);
}

runMarkerSuite('the directory store', tempFsStore);
runMarkerSuite('S3 (Ceph RGW)', async () => {
  const store = openStore(await s3TestUrl('ready-markers-test/'));
  return { store, cleanup: () => store.close() };
});

describe('batch pace: when the batch a machine waits for can be done at the earliest', () => {
  const plan = plan4x(2);
  const at = (batchTimes: (number | undefined)[]): Map<string, number | undefined> => {
    const out = new Map<string, number | undefined>();
    batchTimes.forEach((t, k) => {
      if (t !== undefined) for (const m of plan.batches[k]!) out.set(m, t);
    });
    return out;
  };
  it.each([
    { name: 'too little known: nothing done', times: [], upTo: 2, want: undefined },
    { name: 'too little known: one batch done', times: [1000], upTo: 2, want: undefined },
    { name: 'two done 30 s apart, batch 2 working: batch 2 at +30 s', times: [1000, 31_000], upTo: 2, want: 61_000 },
    { name: 'batch 3 two batch-times after batch 1', times: [1000, 31_000], upTo: 3, want: 91_000 },
    { name: 'the shortest batch seen counts', times: [1000, 41_000, 71_000], upTo: 3, want: 101_000 },
    { name: 'already done: nothing to wait for', times: [1000, 31_000, 61_000], upTo: 2, want: undefined },
  ])('$name', ({ times, upTo, want }) => {
    expect(earliestDoneMs(plan, upTo, at(times), new Set())).toBe(want);
  });

  it('the quickest machine seen counts, not the slowest of its batch: a batch quicker than the ones before is not waited past', () => {
    // Batch 1 turned done 40 s after batch 0 (its slowest machine), but its quickest machine was Ready 8 s
    // after batch 0: batch 2 can be done 8 s after batch 1, not 40 s (batches get quicker after the commit's burst).
    const marked = at([1000, 41_000]);
    marked.set(plan.batches[1]![0]!, 9_000);
    expect(earliestDoneMs(plan, 2, marked, new Set())).toBe(49_000);
    expect(earliestDoneMs(plan, 3, marked, new Set())).toBe(57_000);
  });

  it('a failed machine counts as done and adds no time', () => {
    const marked = at([1000, 31_000]);
    const failed = plan.batches[1]![0]!;
    marked.delete(failed);
    expect(earliestDoneMs(plan, 2, marked, new Set([failed]))).toBe(61_000);
    expect(earliestDoneMs(plan, 2, marked, new Set())).toBeUndefined();
  });

  it('a decision waiting for a batch that cannot be done yet is held until then at no cost, then read afresh', async () => {
    const fs = await tempFsStore();
    try {
      const counter: RequestCounter = { requests: 0 };
      const store = countRequests(fs.store, counter);
      const big = plan4x(2);
      const now = Date.now();
      // Batches 0 and 1 turned done 30 s apart, batch 1 just now: batch 2 cannot be done for about 30 s.
      for (const [k, t] of [[0, now - 30_000], [1, now]] as const) for (const m of big.batches[k]!) await writeReadyMarker(fs.store, { set: 'web', rolloutId: big.rolloutId, digest: NEW, machine: m, at: new Date(t) });
      const { utimes } = await import('node:fs/promises');
      for (const m of big.batches[0]!) await utimes(`${fs.url}/ready/web/${big.rolloutId}/${m}`, new Date(now - 30_000), new Date(now - 30_000));
      const memory = new GateMemory();
      let mono = 5_000_000;
      const decide = () => decideWithReads({
        store, plan: big, machine: big.batches[3]![0]!, settings: { pauseBetweenBatchesMs: 0, maxFailures: 0, windows: [] }, dependencies: [],
        overrideWindows: false, now: new Date(now), staleAfterMs: 600_000, unreachable: { budget: 0, afterMs: 900_000 }, memory, monotonicMs: mono,
      });
      const first = await decide();
      expect(first.decision).toMatchObject({ allowed: false, reason: Reason.WaitingForBatch });
      const wait = first.decision.allowed ? 0 : first.decision.retryAfterMs ?? 0;
      expect(wait).toBeGreaterThan(20_000);
      mono += 10_000;
      const held = await decide();
      expect(held.requests).toBe(0);
      expect(held.decision).toMatchObject({ allowed: false, reason: Reason.WaitingForBatch, retryAfterMs: wait - 10_000 });
      mono += wait;
      expect((await decide()).requests).toBeGreaterThan(0);
    } finally {
      await fs.cleanup();
    }
  });
});
