import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { countRequests, type RequestCounter } from '../../src/fetch/counting-store.js';
import { directSource, firstNotDoneBefore, readEarlierBatches, type DoneMemory } from '../../src/rollout/batch-statuses.js';
import { decideGate, failedMachines, type DoneRule } from '../../src/rollout/gate.js';
import { planRollout, rolloutIdFor } from '../../src/rollout/planner.js';
import { Reason } from '../../src/status/conditions.js';
import { MACHINE_STATUS_SCHEMA, type MachineStatus } from '../../src/status/machine-status.js';
import { readSetStatuses, writeMachineStatus } from '../../src/status/status-io.js';
import { digestFromHex, type Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

const OLD = digestFromHex('0'.repeat(64));
const NEW = digestFromHex('1'.repeat(64));
const NOW = new Date('2026-01-06T12:00:00Z');
const MACHINES = Array.from({ length: 13 }, (_, i) => `m${String(i).padStart(2, '0')}`);
const plan = planRollout({ set: 'web', target: NEW, machines: MACHINES, settings: { canary: 1, batchSize: { kind: 'count', count: 3 } } });
const rule: DoneRule = { target: { set: 'web', digest: NEW, rolloutId: plan.rolloutId }, failed: new Set(), now: NOW, staleAfterMs: 600_000 };

function report(machine: string, digest: Digest): MachineStatus {
  return {
    schema: MACHINE_STATUS_SCHEMA, machine, set: 'web', desiredDigest: NEW, currentDigest: digest, generation: 2, commit: null, state: 'Ready',
    conditions: [{ type: 'Ready', status: 'True', reason: Reason.Succeeded, message: 'ok', lastTransitionTime: '2026-01-06T11:50:00.000Z' }],
    rollout: { id: rolloutIdFor('web', digest), batch: 0 }, reportedAt: '2026-01-06T11:59:00.000Z', agentVersion: '0.1.0',
  };
}

describe('readEarlierBatches (directory store)', () => {
  let dir: string;
  let store: Store;
  let counter: RequestCounter;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-batches-'));
    counter = { requests: 0 };
    store = countRequests(openStore(dir), counter);
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  /** Batches 0..readyUpTo Ready on NEW, the rest on OLD. */
  async function fleet(readyUpTo: number): Promise<void> {
    for (const [k, batch] of plan.batches.entries()) for (const m of batch) await writeMachineStatus(store, report(m, k <= readyUpTo ? NEW : OLD));
    counter.requests = 0;
  }

  it('reads the nearest earlier batch while it is still working, and the one before it only up to a machine not done', async () => {
    expect(plan.batches.map((b) => b.length)).toEqual([1, 3, 3, 3, 3]);
    await fleet(1);
    const last = plan.batches.length - 1;
    const got = await readEarlierBatches(directSource(store, 'web'), plan, last, rule);
    expect([...got.keys()].sort()).toEqual([plan.batches[last - 1]![0]!, plan.batches[last - 2]![0]!].sort());
    expect(counter.requests).toBe(2); // the first machine of the nearest batch, and of the one before it (neither done)
  });

  it('reads further back only while each batch is done, and the gate decides as with every file read', async () => {
    for (let ready = -1; ready < plan.batches.length; ready++) {
      await fleet(ready);
      for (let batch = 0; batch < plan.batches.length; batch++) {
        const machine = plan.batches[batch]![0]!;
        const partial = await readEarlierBatches(directSource(store, 'web'), plan, batch, rule);
        const full = await readSetStatuses(store, 'web');
        const settings = { pauseBetweenBatchesMs: 0, maxFailures: 0, windows: [] };
        const common = { plan, machine, quarantine: null, settings, dependencies: [], now: NOW, staleAfterMs: 600_000 };
        expect(decideGate({ ...common, statuses: partial })).toEqual(decideGate({ ...common, statuses: full }));
        expect(partial.size).toBeLessThanOrEqual(batch <= ready + 1 ? plan.batches.slice(0, batch).flat().length : 6);
      }
    }
  });

  it('with a budget, reads past a silent machine, and the gate decides as with every file read', async () => {
    const AFTER = 15 * 60_000;
    const silentReport = (m: string): MachineStatus => ({ ...report(m, OLD), reportedAt: new Date(NOW.getTime() - AFTER - 1000).toISOString() });
    for (const silentBatch of [0, 1, 2]) {
      for (const ready of [silentBatch, silentBatch + 1, plan.batches.length - 1]) {
        await fleet(ready);
        const silent = plan.batches[silentBatch]![0]!;
        await writeMachineStatus(store, silentReport(silent));
        for (const budget of [0, 1]) {
          const withBudget: DoneRule = { ...rule, ...(budget > 0 ? { silentAfterMs: AFTER } : {}) };
          for (let batch = silentBatch + 1; batch < plan.batches.length; batch++) {
            const partial = await readEarlierBatches(directSource(store, 'web'), plan, batch, withBudget);
            const full = await readSetStatuses(store, 'web');
            const unavailability = { budget, afterMs: AFTER, slotHolders: new Set<string>() };
            const common = { plan, machine: plan.batches[batch]![0]!, quarantine: null, settings: { pauseBetweenBatchesMs: 0, maxFailures: 0, windows: [] }, dependencies: [], now: NOW, staleAfterMs: 600_000, unavailability };
            const decided = decideGate({ ...common, statuses: partial });
            expect(decided, `silent in ${silentBatch}, ready to ${ready}, budget ${budget}, batch ${batch}`).toEqual(decideGate({ ...common, statuses: full }));
            if (budget === 1 && batch <= ready + 1) expect(decided.allowed).toBe(true);
          }
        }
      }
    }
  });

  it('firstNotDoneBefore: with a budget, a silent machine does not hold back fetching ahead', async () => {
    await fleet(1);
    const silent = plan.batches[1]![0]!;
    await writeMachineStatus(store, { ...report(silent, OLD), reportedAt: '2026-01-06T10:00:00.000Z' });
    expect(await firstNotDoneBefore(store, plan, 2, rule)).toMatchObject({ batch: 1, machine: silent });
    expect(await firstNotDoneBefore(store, plan, 2, { ...rule, silentAfterMs: 15 * 60_000 })).toBeUndefined();
  });

  it('counts a tolerated failure as done and keeps reading past it', async () => {
    await fleet(1);
    const failedOne = plan.batches[2]![0]!;
    const quarantine = { schema: 'flotilla.quarantine/v1' as const, set: 'web', digest: NEW, failures: [{ machine: failedOne, reason: Reason.HealthCheckFailed, message: 'x', time: NOW.toISOString() }] };
    await writeMachineStatus(store, report(plan.batches[2]![1]!, NEW));
    await writeMachineStatus(store, report(plan.batches[2]![2]!, NEW));
    const tolerant = { ...rule, failed: failedMachines(quarantine) };
    const got = await readEarlierBatches(directSource(store, 'web'), plan, 3, tolerant);
    expect(got.size).toBe(7);
    const settings = { pauseBetweenBatchesMs: 0, maxFailures: 1, windows: [] };
    expect(decideGate({ plan, machine: plan.batches[3]![0]!, statuses: got, quarantine, settings, dependencies: [], now: NOW, staleAfterMs: 600_000 }).allowed).toBe(true);
  });

  it('firstNotDoneBefore: one get while the front is far, undefined once every earlier batch is done, reading only the nearest', async () => {
    await fleet(0);
    const far = await firstNotDoneBefore(store, plan, 3, rule);
    expect(far).toMatchObject({ batch: 2, machine: plan.batches[2]![0] });
    expect(counter.requests).toBe(1);
    await fleet(2);
    expect(await firstNotDoneBefore(store, plan, 3, rule)).toBeUndefined();
    // Batch 2 all done: batches 0 and 1 are done by induction, their files are not read.
    expect(counter.requests).toBe(plan.batches[2]!.length);
  });

  it('firstNotDoneBefore: a tolerated failure is skipped without reading it', async () => {
    await fleet(0);
    await writeMachineStatus(store, report(plan.batches[1]![1]!, NEW));
    await writeMachineStatus(store, report(plan.batches[1]![2]!, NEW));
    counter.requests = 0;
    const tolerant = { ...rule, failed: new Set([plan.batches[1]![0]!]) };
    expect(await firstNotDoneBefore(store, plan, 2, tolerant)).toBeUndefined();
    // The two others of batch 1; batch 0 is done by induction.
    expect(counter.requests).toBe(2);
  });

  it('machines seen done are not read again, and a batch all done makes the earlier ones done by induction', async () => {
    await fleet(1);
    const done: DoneMemory = new Map();
    const first = await readEarlierBatches(directSource(store, 'web'), plan, 3, rule, done);
    expect(counter.requests).toBe(3); // the first machine of batch 2 (not done); batch 1's first and last (done)
    // Batch 1 seen done: batch 0 is done by induction (its machines passed the gate only after batch 0).
    expect([...done.keys()].sort()).toEqual([...plan.batches[0]!, ...plan.batches[1]!].sort());
    expect(done.get(plan.batches[0]![0]!)).toBeNull();
    await writeMachineStatus(store, report(plan.batches[2]![0]!, NEW));
    counter.requests = 0;
    const again = await readEarlierBatches(directSource(store, 'web'), plan, 3, rule, done);
    expect(counter.requests).toBe(3); // only batch 2: batch 1 is remembered
    expect(again.get(plan.batches[2]![0]!)).toEqual(report(plan.batches[2]![0]!, NEW));
    expect(again.size).toBe(first.size + 2); // batch 2's first machine is done: the other two are read now
    expect(done.has(plan.batches[2]![0]!)).toBe(true);
    // The gate counts what is remembered as done, though batch 0 was never read.
    const settings = { pauseBetweenBatchesMs: 0, maxFailures: 0, windows: [] };
    const common = { plan, machine: plan.batches[3]![0]!, quarantine: null, settings, dependencies: [], now: NOW, staleAfterMs: 600_000 };
    await fleet(2);
    const last = await readEarlierBatches(directSource(store, 'web'), plan, 3, rule, done);
    expect(counter.requests).toBe(2); // the two machines of batch 2 not yet seen done
    expect(decideGate({ ...common, statuses: last, remembered: done }).allowed).toBe(true);
    expect(decideGate({ ...common, statuses: last }).allowed).toBe(false); // without the memory: batch 0 unread
  });

  it('with a budget, no induction: a silent machine far back is still read and counted', async () => {
    await fleet(2);
    const done: DoneMemory = new Map();
    await readEarlierBatches(directSource(store, 'web'), plan, 3, { ...rule, silentAfterMs: 15 * 60_000 }, done);
    expect(done.has(plan.batches[0]![0]!)).toBe(true);
    expect([...done.values()].every((s) => s !== null)).toBe(true);
  });
});
