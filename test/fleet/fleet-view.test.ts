import { describe, expect, it } from 'vitest';
import { Reason } from '../../src/status/conditions.js';
import { decideExitCode, viewSet, type SetViewInput } from '../../src/fleet/fleet-view.js';
import { MACHINE_STATUS_SCHEMA, type MachineStatus, type MachineState } from '../../src/status/machine-status.js';
import { digestFromHex, type Digest } from '../../src/store/digest.js';

const OLD = digestFromHex('0'.repeat(64));
const NEW = digestFromHex('1'.repeat(64));
const NOW = new Date('2026-01-06T12:00:00Z');

function st(machine: string, digest: Digest, state: MachineState, reportedAt = '2026-01-06T11:59:00.000Z'): MachineStatus {
  return {
    schema: MACHINE_STATUS_SCHEMA, machine, set: 'web', desiredDigest: NEW, currentDigest: digest, generation: 2, commit: null, state,
    conditions: [{ type: 'Ready', status: state === 'Ready' ? 'True' : 'False', reason: state === 'Ready' ? Reason.Succeeded : Reason.Progressing, message: '', lastTransitionTime: reportedAt }],
    rollout: null, reportedAt, agentVersion: '0.1.0',
  };
}

function view(statuses: Array<[string, MachineStatus]>, over: Partial<SetViewInput> = {}) {
  return viewSet({ set: 'web', desiredDigest: NEW, machines: ['a', 'b'], statuses: new Map(statuses), leases: [], quarantines: [], now: NOW, staleAfterMs: 600_000, ...over });
}

describe('fleet view', () => {
  const table: Array<{ name: string; statuses: Array<[string, MachineStatus]>; over?: Partial<SetViewInput>; health: string; states: string[] }> = [
    { name: 'all Ready on desired → converged', statuses: [['a', st('a', NEW, 'Ready')], ['b', st('b', NEW, 'Ready')]], health: 'converged', states: ['Ready', 'Ready'] },
    { name: 'Ready on the old digest is still progressing', statuses: [['a', st('a', NEW, 'Ready')], ['b', st('b', OLD, 'Ready')]], health: 'progressing', states: ['Ready', 'Progressing'] },
    { name: 'never reported → Unknown, progressing', statuses: [['a', st('a', NEW, 'Ready')]], health: 'progressing', states: ['Ready', 'Unknown'] },
    { name: 'no report for too long → Stale, failed', statuses: [['a', st('a', NEW, 'Ready')], ['b', st('b', NEW, 'Ready', '2026-01-06T10:00:00.000Z')]], health: 'failed', states: ['Ready', 'Stale'] },
    { name: 'rolled back → failed', statuses: [['a', st('a', OLD, 'RolledBack')], ['b', st('b', OLD, 'Waiting')]], health: 'failed', states: ['RolledBack', 'Waiting'] },
    { name: 'desired digest quarantined → failed', statuses: [['a', st('a', OLD, 'Waiting')], ['b', st('b', OLD, 'Waiting')]], over: { quarantines: [{ digest: NEW, machines: ['c'] }] }, health: 'failed', states: ['Waiting', 'Waiting'] },
    { name: 'a quarantine of another digest does not matter', statuses: [['a', st('a', NEW, 'Ready')], ['b', st('b', NEW, 'Ready')]], over: { quarantines: [{ digest: OLD, machines: ['c'] }] }, health: 'converged', states: ['Ready', 'Ready'] },
  ];
  for (const t of table) {
    it(t.name, () => {
      const v = view(t.statuses, t.over);
      expect(v.health).toBe(t.health);
      expect(v.machines.map((m) => m.state)).toEqual(t.states);
    });
  }

  const HOUR_AGO = '2026-01-06T11:00:00.000Z';
  const budgetTable: Array<{ name: string; statuses: Array<[string, MachineStatus]>; over?: Partial<SetViewInput>; health: string; states: string[] }> = [
    { name: 'silent past unreachableAfter, no slot → Unreachable, failed', statuses: [['a', st('a', NEW, 'Ready')], ['b', st('b', OLD, 'Ready', HOUR_AGO)]], over: { unreachableAfterMs: 900_000 }, health: 'failed', states: ['Ready', 'Unreachable'] },
    {
      name: 'silent but holding a slot → Stale, not Unreachable',
      statuses: [['a', st('a', NEW, 'Ready')], ['b', st('b', OLD, 'Ready', HOUR_AGO)]],
      over: { unreachableAfterMs: 900_000, leases: [{ rollout: 'r1', slot: 0, machine: 'b', token: 1, state: 'held' }] }, health: 'failed', states: ['Ready', 'Stale'],
    },
    { name: 'not yet past unreachableAfter → Stale', statuses: [['a', st('a', NEW, 'Ready')], ['b', st('b', OLD, 'Ready', HOUR_AGO)]], over: { unreachableAfterMs: 2 * 3_600_000 }, health: 'failed', states: ['Ready', 'Stale'] },
    { name: 'a fresh Ready on desired stays Ready under a short unreachableAfter', statuses: [['a', st('a', NEW, 'Ready')], ['b', st('b', NEW, 'Ready')]], over: { unreachableAfterMs: 1000 }, health: 'converged', states: ['Ready', 'Ready'] },
    {
      name: 'a removed machine is listed apart and does not count',
      statuses: [['a', st('a', NEW, 'Ready')], ['b', st('b', NEW, 'Ready')], ['gone', st('gone', OLD, 'Ready', HOUR_AGO)]],
      over: { removed: ['gone'], unreachableAfterMs: 900_000 }, health: 'converged', states: ['Ready', 'Ready'],
    },
  ];
  for (const t of budgetTable) {
    it(t.name, () => {
      const v = view(t.statuses, t.over);
      expect(v.health).toBe(t.health);
      expect(v.machines.map((m) => m.state)).toEqual(t.states);
    });
  }

  it('describes a removed machine by its last report', () => {
    const v = view([['gone', st('gone', OLD, 'Ready', '2026-01-06T11:00:00.000Z')]], { removed: ['gone'] });
    expect(v.removed).toEqual([{ machine: 'gone', lastSeen: '2026-01-06T11:00:00.000Z', currentDigest: OLD, state: 'Ready' }]);
  });

  it('shows an unreadable status as Invalid (failed) with the problem', () => {
    const v = viewSet({ set: 'web', desiredDigest: NEW, machines: ['a'], statuses: new Map([['a', { key: 'status/web/a.json', problem: 'status/web/a.json: /state: expected …' }]]), leases: [], quarantines: [], now: NOW, staleAfterMs: 1000 });
    expect(v.machines[0]).toMatchObject({ state: 'Invalid', message: expect.stringContaining('/state') as string });
    expect(v.health).toBe('failed');
  });

  it('lists only held slots', () => {
    const v = view([], { leases: [{ rollout: 'r1', slot: 0, machine: 'a', token: 3, state: 'held' }, { rollout: 'r1', slot: 1, machine: 'b', token: 2, state: 'released' }] });
    expect(v.slotHolders.map((l) => l.machine)).toEqual(['a']);
  });

  it('decides the exit code: failed beats progressing beats converged', () => {
    const ok = view([['a', st('a', NEW, 'Ready')], ['b', st('b', NEW, 'Ready')]]);
    const prog = view([['a', st('a', NEW, 'Ready')]]);
    const bad = view([['a', st('a', OLD, 'Failed')]]);
    expect(decideExitCode([ok])).toBe(0);
    expect(decideExitCode([ok, prog])).toBe(3);
    expect(decideExitCode([ok, prog, bad])).toBe(1);
    expect(decideExitCode([])).toBe(0);
  });
});
