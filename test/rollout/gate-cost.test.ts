// Requests per gate decision and per lease acquisition, counted through a counting wrapper over a real
// directory store: the count must not grow with the batch size once the first read is done.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { countRequests, type RequestCounter } from '../../src/fetch/counting-store.js';
import { directSource, readEarlierBatches } from '../../src/rollout/batch-statuses.js';
import { GateMemory } from '../../src/rollout/gate-memory.js';
import { decideWithReads } from '../../src/rollout/gate-reads.js';
import { acquireSlot } from '../../src/rollout/lease.js';
import { planRollout, type RolloutPlan } from '../../src/rollout/planner.js';
import { writeQuarantine } from '../../src/rollout/quarantine.js';
import { writeReadyMarker } from '../../src/rollout/ready-marker.js';
import { Reason } from '../../src/status/conditions.js';
import { MACHINE_STATUS_SCHEMA, type MachineStatus } from '../../src/status/machine-status.js';
import { writeMachineStatus } from '../../src/status/status-io.js';
import { digestFromHex, type Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { contender } from './lease-helpers.js';

const OLD = digestFromHex('0'.repeat(64));
const NEW = digestFromHex('1'.repeat(64));

function report(plan: RolloutPlan, machine: string, digest: Digest, now: Date): MachineStatus {
  const ready = digest === NEW;
  return {
    schema: MACHINE_STATUS_SCHEMA, machine, set: 'web', desiredDigest: NEW, currentDigest: digest, generation: 2, commit: null,
    state: ready ? 'Ready' : 'Waiting',
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? Reason.Succeeded : Reason.WaitingForBatch, message: '', lastTransitionTime: now.toISOString() }],
    rollout: { id: plan.rolloutId, batch: 0 }, reportedAt: now.toISOString(), agentVersion: 'test',
  };
}

describe('requests per gate decision (directory store, counted)', () => {
  let dir: string;
  let raw: Store;
  let store: Store;
  let counter: RequestCounter;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-gate-cost-'));
    raw = openStore(dir);
    counter = { requests: 0 };
    store = countRequests(raw, counter);
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  /** One machine of the last of four batches of `b`, following the third batch through its rollout. */
  async function follow(b: number): Promise<{ first: number; unchanged: number; oneChanged: number; allowedAfter: number; old: number }> {
    const machines = Array.from({ length: 4 * b }, (_, i) => `m${String(i).padStart(3, '0')}`);
    const plan = planRollout({ set: 'web', target: NEW, machines, settings: { canary: 0, batchSize: { kind: 'count', count: b } } });
    const now = new Date();
    for (const [k, batch] of plan.batches.entries()) for (const m of batch) await writeMachineStatus(raw, report(plan, m, k < 2 ? NEW : OLD, now));
    const memory = new GateMemory();
    const me = plan.batches[3]![0]!;
    const decide = () => decideWithReads({
      store, plan, machine: me, settings: { pauseBetweenBatchesMs: 0, maxFailures: 0, windows: [] }, dependencies: [],
      overrideWindows: false, now: new Date(), staleAfterMs: 600_000, unreachable: { budget: 0, afterMs: 900_000 }, memory,
    });
    const first = await decide();
    expect(first.decision).toMatchObject({ allowed: false, reason: Reason.WaitingForBatch, retryAfterMs: 1_000 });
    const unchanged = await decide();
    await writeMachineStatus(raw, report(plan, plan.batches[2]![0]!, NEW, new Date()));
    const oneChanged = await decide();
    for (const m of plan.batches[2]!) await writeMachineStatus(raw, report(plan, m, NEW, new Date()));
    const last = await decide();
    expect(last.decision.allowed).toBe(true);
    // The same decision as the reader before this change made it: every file of the batches it walked.
    counter.requests = 0;
    await readEarlierBatches(directSource(store, 'web'), plan, 3, { target: { set: 'web', digest: NEW, rolloutId: plan.rolloutId }, failed: new Set(), now: new Date(), staleAfterMs: 600_000 });
    const old = counter.requests + 1; // + the quarantine read
    expect(counter.requests).toBe(3 * b);
    return { first: first.requests, unchanged: unchanged.requests, oneChanged: oneChanged.requests, allowedAfter: last.requests, old };
  }

  it('without Ready markers (older agents), a decision with nothing new costs two LISTs and the quarantine GET at batch sizes 2 and 20; each file is read once as it matters', async () => {
    const small = await follow(2);
    const large = await follow(20);
    // The quarantine record, the (empty) marker listing and the status listing.
    expect(small.unchanged).toBe(3);
    expect(large.unchanged).toBe(3);
    // The first machine of the batch before turned Ready: it, then the rest of its batch (never read while
    // that first one was working) are read.
    expect(small.oneChanged).toBe(3 + 2);
    expect(large.oneChanged).toBe(3 + 20);
    // The first decision reads the first machine of the working batch, and the first and last of the one before.
    expect(large.first).toBe(3 + 1 + 2);
    expect(large.allowedAfter).toBe(3 + 19);
    expect(large.old).toBe(61);
  });

  it('with a monotonic clock, a waiting decision uses the quarantine record read in the last 10 s; a decision to go reads it again', async () => {
    const b = 5;
    const machines = Array.from({ length: 4 * b }, (_, i) => `m${String(i).padStart(3, '0')}`);
    const plan = planRollout({ set: 'web', target: NEW, machines, settings: { canary: 0, batchSize: { kind: 'count', count: b } } });
    for (const [k, batch] of plan.batches.entries()) for (const m of batch) await writeMachineStatus(raw, report(plan, m, k < 2 ? NEW : OLD, new Date()));
    const memory = new GateMemory();
    let mono = 1_000_000;
    const decide = (maxFailures = 0) => decideWithReads({
      store, plan, machine: plan.batches[3]![0]!, settings: { pauseBetweenBatchesMs: 0, maxFailures, windows: [] }, dependencies: [],
      overrideWindows: false, now: new Date(), staleAfterMs: 600_000, unreachable: { budget: 0, afterMs: 900_000 }, memory, monotonicMs: mono,
    });
    const mark = (m: string) => writeReadyMarker(raw, { set: 'web', rolloutId: plan.rolloutId, digest: NEW, machine: m, at: new Date() });
    for (const m of [...plan.batches[0]!, ...plan.batches[1]!]) await mark(m);
    await decide();
    mono += 1_000;
    expect((await decide()).requests).toBe(1); // the marker listing only (the status listing is 1 s old)
    mono += 10_000;
    expect((await decide()).requests).toBe(3); // the record and the status listing are 11 s old: read again
    // The batch before fails on one machine (recorded in quarantine), the rest turn Ready: the waiting
    // decision 1 s later still uses the old record.
    const failed = plan.batches[2]![0]!;
    await writeQuarantine(raw, 'web', NEW, { machine: failed, reason: Reason.HealthCheckFailed, message: 'x', time: new Date().toISOString() });
    for (const m of plan.batches[2]!.slice(1)) await mark(m);
    mono += 1_000;
    expect((await decide()).decision).toMatchObject({ allowed: false, reason: Reason.WaitingForBatch });
    // The failed machine has a marker too (it turned Ready, then failed): the decision to go reads the
    // record again and holds back. A marker is never trusted past the quarantine record.
    await mark(failed);
    mono += 1_000;
    expect((await decide()).decision).toMatchObject({ allowed: false, reason: Reason.Quarantined });
    // With one failure tolerated it goes, on markers alone.
    mono += 1_000;
    expect((await decide(1)).decision).toMatchObject({ allowed: true });
  });

  it('taking its own slot costs the same at batch sizes 2, 20 and 50: no read of the other slots', async () => {
    const costs: number[] = [];
    for (const slots of [2, 20, 50]) {
      const rollout = `r-${slots}`;
      // The batch before left tombstones in every slot; this machine's own slot is position 1.
      for (let i = 0; i < slots; i++) await (await acquireSlot({ ...contender(raw, `prev${i}`, { slots, rollout }), preferredSlot: i }))!.release();
      counter.requests = 0;
      const lease = await acquireSlot({ ...contender(store, 'me', { slots, rollout }), preferredSlot: 1 });
      expect(lease?.slot).toBe(1);
      costs.push(counter.requests);
    }
    // create (412), one get of the own slot (bytes and etag together), CAS carrying the token, the CAS repeated (must lose).
    expect(costs).toEqual([4, 4, 4]);
  });
});
