import { describe, expect, it } from 'vitest';
import { healthyEverywhere } from '../../src/bump/last-ready.js';
import { viewSet } from '../../src/fleet/fleet-view.js';
import { decideGate } from '../../src/rollout/gate.js';
import { planRollout, rolloutIdFor } from '../../src/rollout/planner.js';
import { isSilent } from '../../src/rollout/unavailability.js';
import { Reason } from '../../src/status/conditions.js';
import { MACHINE_STATUS_SCHEMA, parseMachineStatus, serializeMachineStatus, type MachineStatus } from '../../src/status/machine-status.js';
import { DEFAULT_STALE_AFTER_MS, STALE_HEARTBEATS, isFresh, isReadyOn, reportLifetimeMs } from '../../src/status/readiness.js';
import { digestFromHex } from '../../src/store/digest.js';

// Readers judge a report's staleness from the heartbeat its writer declares (heartbeatSeconds), with their
// own threshold (default 10 min) as the floor and as the whole rule for reports that declare none. Every
// reader goes through readiness.ts, so each is checked here on the same reports.

const NEW = digestFromHex('1'.repeat(64));
const NOW = new Date('2026-01-06T12:00:00Z');
const MIN = 60_000;
const ago = (ms: number): string => new Date(NOW.getTime() - ms).toISOString();

function report(ageMs: number, heartbeatSeconds?: number): MachineStatus {
  return {
    schema: MACHINE_STATUS_SCHEMA, machine: 'a', set: 'web', desiredDigest: NEW, currentDigest: NEW, generation: 2, commit: null, state: 'Ready',
    conditions: [{ type: 'Ready', status: 'True', reason: Reason.Succeeded, message: '', lastTransitionTime: ago(3_600_000) }],
    rollout: { id: rolloutIdFor('web', NEW), batch: 0 }, reportedAt: ago(ageMs), agentVersion: '0.1.0',
    ...(heartbeatSeconds !== undefined ? { heartbeatSeconds } : {}),
  };
}

const TEN_MIN_BEAT = 600;
const plan = planRollout({ set: 'web', target: NEW, machines: ['a', 'b'], settings: { canary: 1, batchSize: { kind: 'count', count: 1 } } });

/** Each reader's verdict on one report, as "fresh" or not. */
const readers: Array<{ name: string; fresh: (s: MachineStatus) => boolean }> = [
  { name: 'isFresh', fresh: (s) => isFresh(s, NOW, DEFAULT_STALE_AFTER_MS) },
  { name: 'the gate (isReadyOn)', fresh: (s) => isReadyOn(s, { set: 'web', digest: NEW, rolloutId: rolloutIdFor('web', NEW) }, NOW, DEFAULT_STALE_AFTER_MS) },
  {
    name: 'the gate decision for the next batch',
    fresh: (s) => decideGate({ plan, machine: plan.batches[1]![0]!, statuses: new Map([[plan.batches[0]![0]!, { ...s, machine: plan.batches[0]![0]! }]]), quarantine: null, settings: { pauseBetweenBatchesMs: 0, maxFailures: 0, windows: [] }, dependencies: [], now: NOW, staleAfterMs: DEFAULT_STALE_AFTER_MS }).allowed,
  },
  { name: 'status and the fleet page (viewSet)', fresh: (s) => viewSet({ set: 'web', desiredDigest: NEW, machines: ['a'], statuses: new Map([['a', s]]), leases: [], quarantines: [], now: NOW, staleAfterMs: DEFAULT_STALE_AFTER_MS }).machines[0]?.state === 'Ready' },
  { name: 'revert (healthyEverywhere)', fresh: (s) => healthyEverywhere(NEW, ['a'], new Map([['a', s]]), { now: NOW, staleAfterMs: DEFAULT_STALE_AFTER_MS }) },
];

describe('report lifetime from the declared heartbeat', () => {
  const table: Array<{ name: string; report: MachineStatus; fresh: boolean }> = [
    { name: 'no heartbeat declared (older agent), 9 min old: fresh', report: report(9 * MIN), fresh: true },
    { name: 'no heartbeat declared (older agent), 11 min old: stale, as before', report: report(11 * MIN), fresh: false },
    { name: '10 min heartbeat, 11 min old (one beat and a poll late): not stale early', report: report(11 * MIN, TEN_MIN_BEAT), fresh: true },
    { name: '10 min heartbeat, 19 min old (a beat missed): still fresh', report: report(19 * MIN, TEN_MIN_BEAT), fresh: true },
    { name: '10 min heartbeat, silent past two beats (21 min): stale', report: report(21 * MIN, TEN_MIN_BEAT), fresh: false },
    { name: '1 min heartbeat, 9 min old: the reader threshold is the floor', report: report(9 * MIN, 60), fresh: true },
    { name: '1 min heartbeat, 11 min old: stale at the floor', report: report(11 * MIN, 60), fresh: false },
    { name: '30 min heartbeat, a clock 11 min ahead: the beat does not widen skew', report: report(-11 * MIN, 1800), fresh: false },
    { name: '30 min heartbeat, a clock 9 min ahead: within the skew allowance', report: report(-9 * MIN, 1800), fresh: true },
  ];
  for (const t of table) {
    for (const r of readers) {
      it(`${t.name}: ${r.name}`, () => {
        expect(r.fresh(t.report)).toBe(t.fresh);
      });
    }
  }

  it('is the larger of the reader threshold and two of the declared beats', () => {
    expect(reportLifetimeMs(report(0), DEFAULT_STALE_AFTER_MS)).toBe(DEFAULT_STALE_AFTER_MS);
    expect(reportLifetimeMs(report(0, TEN_MIN_BEAT), DEFAULT_STALE_AFTER_MS)).toBe(STALE_HEARTBEATS * TEN_MIN_BEAT * 1000);
    expect(reportLifetimeMs(report(0, 60), DEFAULT_STALE_AFTER_MS)).toBe(DEFAULT_STALE_AFTER_MS);
  });

  it('makes a machine unreachable (the budget) only past its own beats as well as unreachableAfter', () => {
    const after = 15 * MIN;
    expect(isSilent(report(16 * MIN), NEW, NOW, after)).toBe(true);
    expect(isSilent(report(16 * MIN, TEN_MIN_BEAT), NEW, NOW, after)).toBe(false);
    expect(isSilent(report(21 * MIN, TEN_MIN_BEAT), NEW, NOW, after)).toBe(true);
  });

  it('reads and writes heartbeatSeconds, and refuses one longer than an agent may be given', () => {
    const s = report(0, TEN_MIN_BEAT);
    expect(parseMachineStatus(serializeMachineStatus(s), 'k')).toEqual(s);
    const long = JSON.stringify({ ...s, heartbeatSeconds: 1801 });
    expect(parseMachineStatus(long, 'status/web/a.json')).toEqual({ key: 'status/web/a.json', problem: expect.stringMatching(/\/heartbeatSeconds: expected a whole number of seconds from 1 to 1800/) as unknown });
    expect(parseMachineStatus(JSON.stringify({ ...s, heartbeatSeconds: 0 }), 'k')).toHaveProperty('problem');
  });
});
