import { describe, expect, it } from 'vitest';
import { loadDeclarations } from '../../src/declarations/index.js';
import type { Declarations } from '../../src/declarations/types.js';
import { removedFromSet } from '../../src/rollout/set-plan.js';
import { Reason } from '../../src/status/conditions.js';
import { MACHINE_STATUS_SCHEMA, type MachineStatus, type ParseProblem } from '../../src/status/machine-status.js';
import { digestFromHex } from '../../src/store/digest.js';

const D = digestFromHex('a'.repeat(64));
const KEY = 'ci-1:' + Buffer.alloc(32, 7).toString('base64');
const NOW = new Date('2026-01-06T12:00:00Z');
const FRESH = '2026-01-06T11:59:00.000Z';
const OLD = '2026-01-06T09:00:00.000Z';

function decls(selection: string): Declarations {
  const files = {
    'flotilla.yaml': `stores: ["/tmp/store"]\npublishers:\n  keys: ["${KEY}"]\n`,
    'sets/web.yaml': `closure: ${D}\nplatform: linux/amd64\n${selection}`,
    'machines/m1.yaml': 'labels: { role: web }\n',
  };
  const r = loadDeclarations(new Map(Object.entries(files).map(([k, v]) => [k, Buffer.from(v)])));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

function report(machine: string, reportedAt: string): MachineStatus {
  return {
    schema: MACHINE_STATUS_SCHEMA, machine, set: 'web', desiredDigest: D, currentDigest: D, generation: 1, commit: null, state: 'Ready',
    conditions: [{ type: 'Ready', status: 'True', reason: Reason.Succeeded, message: '', lastTransitionTime: reportedAt }], rollout: null, reportedAt, agentVersion: '0.1.0',
  };
}

describe('removedFromSet', () => {
  const table: Array<{ name: string; selection: string; statuses: Array<[string, MachineStatus | ParseProblem]>; removed: string[] }> = [
    { name: 'names: a member is never removed, however old its report', selection: 'machines: [m1]\n', statuses: [['m1', report('m1', OLD)]], removed: [] },
    { name: 'names: a non-member is removed even with a fresh report', selection: 'machines: [m1]\n', statuses: [['m1', report('m1', FRESH)], ['m2', report('m2', FRESH)]], removed: ['m2'] },
    { name: 'labels: a non-member still reporting is a late joiner (its own labels select it)', selection: 'selector: { matchLabels: { role: web } }\n', statuses: [['m9', report('m9', FRESH)]], removed: [] },
    { name: 'labels: a non-member gone quiet left the set', selection: 'selector: { matchLabels: { role: web } }\n', statuses: [['m9', report('m9', OLD)]], removed: ['m9'] },
    { name: 'labels: an unreadable report of a non-member is removed', selection: 'selector: { matchLabels: { role: web } }\n', statuses: [['m9', { key: 'k', problem: 'bad' }]], removed: ['m9'] },
    { name: 'labels: an inventory member is never removed', selection: 'selector: { matchLabels: { role: web } }\n', statuses: [['m1', report('m1', OLD)]], removed: [] },
  ];
  for (const t of table) it(t.name, () => expect(removedFromSet(decls(t.selection), decls(t.selection).sets.get('web')!, new Map(t.statuses), NOW, 600_000)).toEqual(t.removed));
});
