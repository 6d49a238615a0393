import { describe, expect, it } from 'vitest';
import { decideGate, type GateInput } from '../../src/rollout/gate.js';
import { planRollout, rolloutIdFor } from '../../src/rollout/planner.js';
import type { QuarantineRecord } from '../../src/rollout/quarantine-record.js';
import { isSilent, unavailableBudget, type Unavailability } from '../../src/rollout/unavailability.js';
import { Reason } from '../../src/status/conditions.js';
import { MACHINE_STATUS_SCHEMA, type MachineStatus, type ParseProblem } from '../../src/status/machine-status.js';
import { digestFromHex, type Digest } from '../../src/store/digest.js';

// The unavailability budget (rollout.maxUnavailable, rollout.unreachableAfter) in the pure gate.

const OLD = digestFromHex('0'.repeat(64));
const NEW = digestFromHex('1'.repeat(64));
const NOW = new Date('2026-01-06T12:00:00Z');
const AFTER = 15 * 60_000;
const plan = planRollout({ set: 'web', target: NEW, machines: ['a', 'b', 'c', 'd', 'e', 'f', 'g'], settings: { canary: 1, batchSize: { kind: 'count', count: 3 } } });
const [canary, b1, b2] = [plan.batches[0]![0]!, plan.batches[1]!, plan.batches[2]!];

const ago = (ms: number): string => new Date(NOW.getTime() - ms).toISOString();

function report(machine: string, digest: Digest, over: Partial<MachineStatus> = {}): MachineStatus {
  return {
    schema: MACHINE_STATUS_SCHEMA, machine, set: 'web', desiredDigest: digest, currentDigest: digest, generation: 4, commit: null, state: 'Ready',
    conditions: [{ type: 'Ready', status: 'True', reason: Reason.Succeeded, message: 'healthy', lastTransitionTime: ago(3_600_000) }],
    rollout: { id: rolloutIdFor('web', digest), batch: 0 }, reportedAt: ago(60_000), agentVersion: '0.1.0', ...over,
  };
}

/** Ready on the old digest an hour ago, then nothing: a machine that died before the commit landed. */
const dead = (m: string): MachineStatus => report(m, OLD, { reportedAt: ago(3_600_000) });
const readyNew = (m: string): [string, MachineStatus] => [m, report(m, NEW)];

function input(over: { machine?: string; statuses?: Array<[string, MachineStatus | ParseProblem]>; budget?: number; holders?: string[]; quarantine?: QuarantineRecord | null; maxFailures?: number; without?: boolean }): GateInput {
  const unavailability: Unavailability = { budget: over.budget ?? 1, afterMs: AFTER, slotHolders: new Set(over.holders ?? []) };
  return {
    plan, machine: over.machine ?? b1[0]!, statuses: new Map(over.statuses ?? []), quarantine: over.quarantine ?? null,
    settings: { pauseBetweenBatchesMs: 0, maxFailures: over.maxFailures ?? 0, windows: [] }, dependencies: [], now: NOW, staleAfterMs: 600_000,
    ...(over.without === true ? {} : { unavailability }),
  };
}

const quarantine = (...machines: string[]): QuarantineRecord => ({
  schema: 'flotilla.quarantine/v1', set: 'web', digest: NEW, failures: machines.map((m) => ({ machine: m, reason: Reason.HealthCheckFailed, message: 'x', time: NOW.toISOString() })),
});

describe('decideGate with an unavailability budget', () => {
  const table: Array<{ name: string; in: GateInput; allowed: boolean; reason?: string; detail?: RegExp }> = [
    { name: 'within the budget: a dead canary does not block batch 1', in: input({ statuses: [[canary, dead(canary)]] }), allowed: true },
    {
      name: 'budget 0: the dead canary blocks, and the reason names it as unreachable',
      in: input({ statuses: [[canary, dead(canary)]], budget: 0 }), allowed: false, reason: Reason.WaitingForBatch,
      detail: new RegExp(`unreachable .*${canary} \\(last report ${ago(3_600_000)}\\); maxUnavailable allows 0`),
    },
    { name: 'no budget given: the dead canary blocks (as before the budget)', in: input({ statuses: [[canary, dead(canary)]], without: true }), allowed: false, reason: Reason.WaitingForBatch },
    {
      name: 'exceeded: a dead canary and a dead batch-1 machine are two, budget 1',
      in: input({ machine: b2[0]!, statuses: [[canary, dead(canary)], [b1[0]!, dead(b1[0]!)], ...b1.slice(1).map(readyNew)] }), allowed: false, reason: Reason.WaitingForBatch,
      detail: new RegExp(`${b1[0]!} .*, ${canary} .*maxUnavailable allows 1`),
    },
    { name: 'budget 2 covers the same two', in: input({ machine: b2[0]!, budget: 2, statuses: [[canary, dead(canary)], [b1[0]!, dead(b1[0]!)], ...b1.slice(1).map(readyNew)] }), allowed: true },
    {
      name: 'a silent machine holding a slot of this rollout is not unreachable: it blocks',
      in: input({ statuses: [[canary, dead(canary)]], holders: [canary] }), allowed: false, reason: Reason.WaitingForBatch, detail: new RegExp(`batch 0: ${canary} runs`),
    },
    {
      name: 'fresh: a machine that reported within unreachableAfter is working, not unreachable',
      in: input({ statuses: [[canary, report(canary, OLD, { state: 'Progressing', reportedAt: ago(AFTER - 1000) })]] }), allowed: false, reason: Reason.WaitingForBatch,
    },
    { name: 'stale: the same report just past unreachableAfter is unreachable', in: input({ statuses: [[canary, report(canary, OLD, { state: 'Progressing', reportedAt: ago(AFTER + 1000) })]] }), allowed: true },
    {
      name: 'a report from a clock ahead is never silent',
      in: input({ statuses: [[canary, report(canary, OLD, { reportedAt: new Date(NOW.getTime() + 3_600_000).toISOString() })]] }), allowed: false, reason: Reason.WaitingForBatch,
    },
    { name: 'a machine that never reported blocks (no age to judge)', in: input({ budget: 5 }), allowed: false, reason: Reason.WaitingForBatch, detail: /has not reported/ },
    { name: 'an unreadable report blocks', in: input({ budget: 5, statuses: [[canary, { key: 'k', problem: 'bad' }]] }), allowed: false, reason: Reason.WaitingForBatch },
    {
      name: 'failed still stops the line: a quarantine beyond maxFailures, whatever the budget',
      in: input({ budget: 5, statuses: [[canary, report(canary, NEW, { state: 'RolledBack', currentDigest: OLD, reportedAt: ago(3_600_000) })]], quarantine: quarantine(canary) }),
      allowed: false, reason: Reason.Quarantined,
    },
    {
      name: 'failed still stops the line: a silent RolledBack report on the target is not stepped over',
      in: input({ budget: 5, statuses: [[canary, report(canary, NEW, { state: 'RolledBack', currentDigest: OLD, reportedAt: ago(3_600_000) })]] }),
      allowed: false, reason: Reason.WaitingForBatch, detail: new RegExp(`batch 0: ${canary} runs .*RolledBack`),
    },
    {
      name: 'a working machine of the nearest batch still blocks; the budget only covers the silent',
      in: input({ machine: b2[0]!, budget: 3, statuses: [[canary, dead(canary)], [b1[0]!, report(b1[0]!, OLD, { state: 'Progressing' })], ...b1.slice(1).map(readyNew)] }),
      allowed: false, reason: Reason.WaitingForBatch, detail: new RegExp(`batch 1: ${b1[0]!}`),
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const d = decideGate(t.in);
      expect(d.allowed, d.allowed ? 'allowed' : d.detail).toBe(t.allowed);
      if (!d.allowed) {
        expect(d.reason).toBe(t.reason);
        if (t.detail) expect(d.detail).toMatch(t.detail);
      }
    });
  }
});

describe('unavailableBudget', () => {
  const table: Array<[Parameters<typeof unavailableBudget>[0], number, number]> = [
    [{ kind: 'count', count: 0 }, 10, 0],
    [{ kind: 'count', count: 2 }, 10, 2],
    [{ kind: 'percent', percent: 10 }, 4, 0],
    [{ kind: 'percent', percent: 25 }, 4, 1],
    [{ kind: 'percent', percent: 34 }, 10, 3],
    [{ kind: 'percent', percent: 100 }, 7, 7],
  ];
  for (const [budget, size, want] of table) it(`${JSON.stringify(budget)} of ${size} machines is ${want} (rounded down)`, () => expect(unavailableBudget(budget, size)).toBe(want));
});

describe('isSilent', () => {
  it('is strict at the boundary: exactly unreachableAfter old is not yet silent', () => {
    expect(isSilent(report('a', OLD, { reportedAt: ago(AFTER) }), NEW, NOW, AFTER)).toBe(false);
    expect(isSilent(report('a', OLD, { reportedAt: ago(AFTER + 1) }), NEW, NOW, AFTER)).toBe(true);
  });
});
