import { describe, expect, it } from 'vitest';
import { Reason } from '../../src/status/conditions.js';
import { MACHINE_STATUS_SCHEMA, type MachineStatus } from '../../src/status/machine-status.js';
import { reportDue } from '../../src/status/report-due.js';
import { AGENT_DEFAULTS } from '../../src/declarations/agent-config-defaults.js';
import { DEFAULT_STALE_AFTER_MS, STALE_HEARTBEATS } from '../../src/status/readiness.js';
import { digestFromHex } from '../../src/store/digest.js';

const D = digestFromHex('d'.repeat(64));
const at = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const status = (over: Partial<MachineStatus> = {}): MachineStatus => ({
  schema: MACHINE_STATUS_SCHEMA, machine: 'a', set: 'web', desiredDigest: D, currentDigest: D, generation: 1, commit: 'c1', state: 'Ready',
  conditions: [{ type: 'Ready', status: 'True', reason: Reason.Succeeded, message: 'ok', lastTransitionTime: at(0) }],
  rollout: null, reportedAt: at(0), agentVersion: '0.1.0', ...over,
});

const failed = (message: string, s = 0): MachineStatus =>
  status({ state: 'Failed', reportedAt: at(s), conditions: [{ type: 'Ready', status: 'False', reason: Reason.HealthCheckFailed, message, lastTransitionTime: at(0) }] });

describe('reportDue', () => {
  it('writes the first report', () => {
    expect(reportDue(undefined, status(), 60_000)).toBe(true);
  });

  it('skips a report that differs only in its time, until the heartbeat', () => {
    expect(reportDue(status(), status({ reportedAt: at(1) }), 60_000)).toBe(false);
    expect(reportDue(status(), status({ reportedAt: at(59) }), 60_000)).toBe(false);
    expect(reportDue(status(), status({ reportedAt: at(60) }), 60_000)).toBe(true);
  });

  it('writes any other change at once', () => {
    expect(reportDue(status(), status({ reportedAt: at(1), state: 'Waiting' }), 60_000)).toBe(true);
    expect(reportDue(failed('health check failed: 503'), failed('health check failed: connection refused', 1), 60_000)).toBe(true);
  });

  it('does not rewrite a report for the wording of a success (the generation is its own field)', () => {
    const ok = (message: string, s = 0): MachineStatus => status({ reportedAt: at(s), conditions: [{ type: 'Ready', status: 'True', reason: Reason.Succeeded, message, lastTransitionTime: at(0) }] });
    expect(reportDue(ok('generation 1 active and healthy'), ok('generation 1 is active', 1), 60_000)).toBe(false);
    expect(reportDue(ok('generation 1 is active'), status({ reportedAt: at(1), generation: 2 }), 60_000)).toBe(true);
  });

  it('does not rewrite a report for a new commit alone: the commit id rides on the next write', () => {
    expect(reportDue(status(), status({ reportedAt: at(1), commit: 'c2' }), 60_000)).toBe(false);
    expect(reportDue(status(), status({ reportedAt: at(60), commit: 'c2' }), 60_000)).toBe(true);
    // A commit that changes what this set should run is a change.
    expect(reportDue(status(), status({ reportedAt: at(1), commit: 'c2', desiredDigest: digestFromHex('e'.repeat(64)) }), 60_000)).toBe(true);
  });

  it('does not rewrite a waiting report whose message only names another machine, but does on a new reason', () => {
    const waiting = (message: string, reason: string = Reason.WaitingForBatch, s = 0): MachineStatus =>
      status({ state: 'Waiting', reportedAt: at(s), conditions: [{ type: 'Reconciling', status: 'True', reason, message, lastTransitionTime: at(0) } as MachineStatus['conditions'][number]] });
    expect(reportDue(waiting('batch 1: web-3 is not Ready'), waiting('batch 1: web-4 is not Ready', Reason.WaitingForBatch, 1), 60_000)).toBe(false);
    expect(reportDue(waiting('batch 1: web-3 is not Ready'), waiting('no window is open', Reason.WaitingForWindow, 1), 60_000)).toBe(true);
    // Outside Waiting a failure's message is part of what a report says.
    expect(reportDue(failed('health check failed: 503'), failed('health check failed: 500', 1), 60_000)).toBe(true);
  });

  it('the default beat fits the staleness readers apply to it', () => {
    // A report may come up to one poll late, and one missed beat (a slow tick) must not make a live machine
    // look stale: readers wait two declared beats (readiness.ts), and at least their own threshold.
    expect(AGENT_DEFAULTS.statusHeartbeatMs + AGENT_DEFAULTS.pollIntervalMs).toBeLessThan(Math.max(DEFAULT_STALE_AFTER_MS, STALE_HEARTBEATS * AGENT_DEFAULTS.statusHeartbeatMs));
    expect(STALE_HEARTBEATS).toBeGreaterThanOrEqual(2);
  });
});
