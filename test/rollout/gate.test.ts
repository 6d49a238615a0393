import { describe, expect, it } from 'vitest';
import { decideGate, PREVIOUS_BATCH_RETRY_MS, type GateInput } from '../../src/rollout/gate.js';
import { planRollout, rolloutIdFor } from '../../src/rollout/planner.js';
import type { QuarantineRecord } from '../../src/rollout/quarantine-record.js';
import { Reason } from '../../src/status/conditions.js';
import { MACHINE_STATUS_SCHEMA, type MachineStatus, type ParseProblem } from '../../src/status/machine-status.js';
import { digestFromHex, type Digest } from '../../src/store/digest.js';

const OLD = digestFromHex('0'.repeat(64));
const NEW = digestFromHex('1'.repeat(64));
const NOW = new Date('2026-01-06T12:00:00Z');
const MACHINES = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
const plan = planRollout({ set: 'web', target: NEW, machines: MACHINES, settings: { canary: 1, batchSize: { kind: 'count', count: 3 } } });
const [canary, b1, b2] = [plan.batches[0]!, plan.batches[1]!, plan.batches[2]!];

function ready(machine: string, digest: Digest, over: Partial<MachineStatus> = {}, set = 'web'): MachineStatus {
  return {
    schema: MACHINE_STATUS_SCHEMA, machine, set, desiredDigest: digest, currentDigest: digest, generation: 4, commit: null, state: 'Ready',
    conditions: [{ type: 'Ready', status: 'True', reason: Reason.Succeeded, message: 'healthy', lastTransitionTime: '2026-01-06T11:50:00.000Z' }],
    rollout: { id: rolloutIdFor(set, digest), batch: 0 }, reportedAt: '2026-01-06T11:59:00.000Z', agentVersion: '0.1.0', ...over,
  };
}

function statusesOf(entries: Array<[string, MachineStatus | ParseProblem]>): Map<string, MachineStatus | ParseProblem> {
  return new Map(entries);
}

function input(over: Partial<GateInput>): GateInput {
  return {
    plan, machine: b1[0]!, statuses: new Map(), quarantine: null,
    settings: { pauseBetweenBatchesMs: 0, maxFailures: 0, windows: [] }, dependencies: [], now: NOW, staleAfterMs: 600_000, ...over,
  };
}

function quarantine(...machines: string[]): QuarantineRecord {
  return { schema: 'flotilla.quarantine/v1', set: 'web', digest: NEW, failures: machines.map((m) => ({ machine: m, reason: Reason.HealthCheckFailed, message: 'x', time: NOW.toISOString() })) };
}

const canaryReady = (): Array<[string, MachineStatus]> => canary.map((m) => [m, ready(m, NEW)]);

describe('decideGate', () => {
  it('lets the canary go first with nothing reported', () => {
    const d = decideGate(input({ machine: canary[0]! }));
    expect(d).toEqual({ allowed: true, batch: 0, slots: 3, needsLease: true });
  });

  const table: Array<{ name: string; over: () => Partial<GateInput>; allowed: boolean; reason?: string }> = [
    { name: 'batch 1 waits while the canary has not reported', over: () => ({}), allowed: false, reason: Reason.WaitingForBatch },
    { name: 'batch 1 goes once the canary is Ready on the target', over: () => ({ statuses: statusesOf(canaryReady()) }), allowed: true },
    { name: 'a stale "healthy" report for the previous digest does not count', over: () => ({ statuses: statusesOf(canary.map((m) => [m, ready(m, OLD)])) }), allowed: false, reason: Reason.WaitingForBatch },
    {
      name: 'a replayed old report (on the target, but hours old) does not advance the batch',
      over: () => ({ statuses: statusesOf(canary.map((m) => [m, ready(m, NEW, { reportedAt: '2026-01-06T06:00:00.000Z' })])) }),
      allowed: false, reason: Reason.WaitingForBatch,
    },
    {
      name: 'a report bound to another rollout id does not count',
      over: () => ({ statuses: statusesOf(canary.map((m) => [m, ready(m, NEW, { rollout: { id: rolloutIdFor('web', OLD), batch: 0 } })])) }),
      allowed: false, reason: Reason.WaitingForBatch,
    },
    { name: 'a report copied from another set does not count', over: () => ({ statuses: statusesOf(canary.map((m) => [m, ready(m, NEW, {}, 'db')])) }), allowed: false, reason: Reason.WaitingForBatch },
    {
      name: 'Ready state without a True Ready condition does not count',
      over: () => ({ statuses: statusesOf(canary.map((m) => [m, ready(m, NEW, { conditions: [] })])) }),
      allowed: false, reason: Reason.WaitingForBatch,
    },
    {
      name: 'a report from a clock an hour ahead does not count (skew stalls, never advances)',
      over: () => ({ statuses: statusesOf(canary.map((m) => [m, ready(m, NEW, { reportedAt: '2026-01-06T13:00:00.000Z' })])) }),
      allowed: false, reason: Reason.WaitingForBatch,
    },
    { name: 'an unreadable status file does not count', over: () => ({ statuses: statusesOf(canary.map((m) => [m, { key: 'k', problem: 'bad' }])) }), allowed: false, reason: Reason.WaitingForBatch },
    { name: 'quarantine stops every batch', over: () => ({ statuses: statusesOf(canaryReady()), quarantine: quarantine(canary[0]!) }), allowed: false, reason: Reason.Quarantined },
    { name: 'quarantine stops the canary batch too', over: () => ({ machine: canary[0]!, quarantine: quarantine('x') }), allowed: false, reason: Reason.Quarantined },
    {
      name: 'maxFailures 1 tolerates a failed canary',
      over: () => ({ quarantine: quarantine(canary[0]!), settings: { pauseBetweenBatchesMs: 0, maxFailures: 1, windows: [] } }),
      allowed: true,
    },
    {
      name: 'maxFailures 1 stops at the second failure',
      over: () => ({ machine: b2[0]!, statuses: statusesOf(b1.slice(1).map((m) => [m, ready(m, NEW)])), quarantine: quarantine(canary[0]!, b1[0]!), settings: { pauseBetweenBatchesMs: 0, maxFailures: 1, windows: [] } }),
      allowed: false, reason: Reason.Quarantined,
    },
    {
      name: 'a machine that failed itself never retries the digest, even when tolerated',
      over: () => ({ machine: canary[0]!, quarantine: quarantine(canary[0]!), settings: { pauseBetweenBatchesMs: 0, maxFailures: 5, windows: [] } }),
      allowed: false, reason: Reason.Quarantined,
    },
    {
      name: 'batch 2 waits for every machine of batch 1',
      over: () => ({ machine: b2[0]!, statuses: statusesOf([...canaryReady(), ...b1.slice(0, 2).map((m): [string, MachineStatus] => [m, ready(m, NEW)])]) }),
      allowed: false, reason: Reason.WaitingForBatch,
    },
    {
      name: 'machines already on the target count as done',
      over: () => ({ machine: b2[0]!, statuses: statusesOf([...canary, ...b1].map((m) => [m, ready(m, NEW)])) }),
      allowed: true,
    },
    {
      name: 'the pause since the previous batch has not elapsed',
      over: () => ({ statuses: statusesOf(canaryReady()), settings: { pauseBetweenBatchesMs: 30 * 60_000, maxFailures: 0, windows: [] } }),
      allowed: false, reason: Reason.WaitingForPause,
    },
    {
      name: 'the pause has elapsed',
      over: () => ({ statuses: statusesOf(canaryReady()), settings: { pauseBetweenBatchesMs: 5 * 60_000, maxFailures: 0, windows: [] } }),
      allowed: true,
    },
    {
      name: 'a closed window holds the batch',
      over: () => ({ statuses: statusesOf(canaryReady()), settings: { pauseBetweenBatchesMs: 0, maxFailures: 0, windows: [{ days: ['sat'], startMinute: 0, durationMs: 3_600_000, deny: false, timeZone: 'UTC' }] } }),
      allowed: false, reason: Reason.WaitingForWindow,
    },
    {
      name: 'the override opens a closed window',
      over: () => ({ overrideWindows: true, statuses: statusesOf(canaryReady()), settings: { pauseBetweenBatchesMs: 0, maxFailures: 0, windows: [{ days: ['sat'], startMinute: 0, durationMs: 3_600_000, deny: false, timeZone: 'UTC' }] } }),
      allowed: true,
    },
    {
      name: 'dependsOn: waits until the other set is Ready on its own desired digest everywhere',
      over: () => ({ machine: canary[0]!, dependencies: [{ set: 'db', desiredDigest: NEW, machines: ['x', 'y'], statuses: statusesOf([['x', ready('x', NEW, {}, 'db')], ['y', ready('y', OLD, {}, 'db')]]) }] }),
      allowed: false, reason: Reason.WaitingForDependency,
    },
    {
      name: 'dependsOn: goes once the other set is Ready',
      over: () => ({ machine: canary[0]!, dependencies: [{ set: 'db', desiredDigest: NEW, machines: ['x', 'y'], statuses: statusesOf([['x', ready('x', NEW, {}, 'db')], ['y', ready('y', NEW, {}, 'db')]]) }] }),
      allowed: true,
    },
    { name: 'a machine outside the set is refused', over: () => ({ machine: 'stranger' }), allowed: false, reason: Reason.WaitingForBatch },
  ];
  for (const t of table) {
    it(t.name, () => {
      const d = decideGate(input(t.over()));
      expect(d.allowed).toBe(t.allowed);
      if (!d.allowed) expect(d.reason).toBe(t.reason);
    });
  }

  it('asks to look again soon only while the batch right before is working', () => {
    const nextBatch = decideGate(input({}));
    expect(nextBatch.allowed === false && nextBatch.retryAfterMs).toBe(PREVIOUS_BATCH_RETRY_MS);
    const previousBlocked = decideGate(input({ machine: b2[0]!, statuses: statusesOf(canary.map((m): [string, MachineStatus] => [m, ready(m, OLD)])) }));
    expect(previousBlocked.allowed === false && previousBlocked.retryAfterMs).toBeUndefined();
    const previousWorking = decideGate(input({ machine: b2[0]!, statuses: statusesOf(canaryReady()) }));
    expect(previousWorking.allowed === false && previousWorking.retryAfterMs).toBe(PREVIOUS_BATCH_RETRY_MS);
    const twoAhead = decideGate(input({ machine: b2[0]!, statuses: statusesOf([...canary.map((m): [string, MachineStatus] => [m, ready(m, OLD)]), ...b1.map((m): [string, MachineStatus] => [m, ready(m, NEW)])]) }));
    expect(twoAhead.allowed === false && twoAhead.reason).toBe(Reason.WaitingForBatch);
    expect(twoAhead.allowed === false && twoAhead.retryAfterMs).toBeUndefined();
  });

  it('says when to look again for a pause and a window', () => {
    const pause = decideGate(input({ statuses: statusesOf(canaryReady()), settings: { pauseBetweenBatchesMs: 30 * 60_000, maxFailures: 0, windows: [] } }));
    expect(pause.allowed === false && pause.retryAfterMs).toBe(20 * 60_000);
    const window = decideGate(input({ statuses: statusesOf(canaryReady()), settings: { pauseBetweenBatchesMs: 0, maxFailures: 0, windows: [{ days: ['tue'], startMinute: 13 * 60, durationMs: 3_600_000, deny: false, timeZone: 'UTC' }] } }));
    expect(window.allowed === false && window.retryAfterMs).toBe(60 * 60_000);
    const q = decideGate(input({ quarantine: quarantine('x') }));
    expect(q.allowed === false && q.stalled).toBe(true);
  });
});

describe('decideGate with a machine that joined after the rollout began', () => {
  const withLate = planRollout({ set: 'web', target: NEW, machines: MACHINES, settings: { canary: 1, batchSize: { kind: 'count', count: 3 } }, lateJoiners: ['newcomer'] });
  const regular = withLate.batches.slice(0, -1).flat();

  it('waits until every regular batch is Ready on the target', () => {
    const most = new Map<string, MachineStatus>(regular.slice(1).map((m) => [m, ready(m, NEW)]));
    const d = decideGate(input({ plan: withLate, machine: 'newcomer', statuses: most }));
    expect(d).toMatchObject({ allowed: false, reason: Reason.WaitingForBatch, batch: withLate.batches.length - 1 });
  });

  it('converges after the last batch', () => {
    const all = new Map<string, MachineStatus>(regular.map((m) => [m, ready(m, NEW)]));
    expect(decideGate(input({ plan: withLate, machine: 'newcomer', statuses: all }))).toMatchObject({ allowed: true, batch: withLate.batches.length - 1 });
  });
});
