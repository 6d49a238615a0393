import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { Reason, setCondition, type Condition } from '../../src/status/conditions.js';
import { MACHINE_STATUS_SCHEMA, isParseProblem, parseMachineStatus, serializeMachineStatus, type MachineStatus } from '../../src/status/machine-status.js';
import { digestFromHex } from '../../src/store/digest.js';

const D = digestFromHex('c'.repeat(64));
const good: MachineStatus = {
  schema: MACHINE_STATUS_SCHEMA, machine: 'web-1', set: 'web', desiredDigest: D, currentDigest: D, generation: 3, commit: 'a'.repeat(40), state: 'Ready',
  conditions: [{ type: 'Ready', status: 'True', reason: Reason.Succeeded, message: 'ok', lastTransitionTime: '2026-01-01T00:00:00.000Z' }],
  rollout: { id: 'r0123456789abcdef', batch: 1, token: 7 }, reportedAt: '2026-01-01T00:00:01.000Z', agentVersion: '0.1.0',
};

const schema = JSON.parse(readFileSync(new URL('../../schemas/status.schema.json', import.meta.url), 'utf8')) as object;
const validate = new Ajv2020.default({ strict: true, allErrors: true, allowUnionTypes: true }).compile(schema);

function mutate(f: (o: Record<string, unknown>) => void): string {
  const o = JSON.parse(serializeMachineStatus(good).toString()) as Record<string, unknown>;
  f(o);
  return JSON.stringify(o);
}

describe('machine status', () => {
  it('round-trips through serialise and parse, and the schema agrees', () => {
    const bytes = serializeMachineStatus(good);
    expect(parseMachineStatus(bytes, 'k')).toEqual(good);
    expect(validate(JSON.parse(bytes.toString()))).toBe(true);
  });

  it('lists the machine\'s history key when it has one; a report without it (an older agent) still reads', () => {
    const withKey: MachineStatus = { ...good, historyKey: `web-1:${Buffer.alloc(32, 7).toString('base64')}`, historyHead: { seq: 3, sha256: 'd'.repeat(64) } };
    const bytes = serializeMachineStatus(withKey);
    expect(parseMachineStatus(bytes, 'k')).toEqual(withKey);
    expect(validate(JSON.parse(bytes.toString()))).toBe(true);
    expect(JSON.parse(serializeMachineStatus(good).toString())).not.toHaveProperty('historyKey');
    const bad = parseMachineStatus(mutate((o) => (o['historyKey'] = 'web-1:short')), 'k');
    expect(isParseProblem(bad) && bad.problem).toMatch(/\/historyKey/);
  });

  const bad: Array<{ name: string; text: string; pointer: RegExp }> = [
    { name: 'not JSON', text: '{', pointer: /not valid UTF-8 JSON/ },
    { name: 'another schema version', text: mutate((o) => (o['schema'] = 'flotilla.machine-status/v2')), pointer: /\/schema/ },
    { name: 'unknown field', text: mutate((o) => (o['extra'] = 1)), pointer: /\/extra: expected no such field/ },
    { name: 'missing field', text: mutate((o) => delete o['generation']), pointer: /\/generation/ },
    { name: 'uppercase digest', text: mutate((o) => (o['currentDigest'] = `sha256:${'C'.repeat(64)}`)), pointer: /\/currentDigest/ },
    { name: 'unknown state', text: mutate((o) => (o['state'] = 'Happy')), pointer: /\/state/ },
    { name: 'ad-hoc reason', text: mutate((o) => ((o['conditions'] as Array<Record<string, unknown>>)[0]!['reason'] = 'AllGood')), pointer: /\/conditions\/0\/reason/ },
    { name: 'local time without Z', text: mutate((o) => (o['reportedAt'] = '2026-01-01T00:00:00')), pointer: /\/reportedAt/ },
    { name: 'negative batch', text: mutate((o) => (o['rollout'] = { id: 'r1', batch: -1 })), pointer: /\/rollout\/batch/ },
    { name: 'path in machine name', text: mutate((o) => (o['machine'] = '../etc')), pointer: /\/machine/ },
    { name: 'two Ready conditions', text: mutate((o) => (o['conditions'] = [...(o['conditions'] as unknown[]), ...(o['conditions'] as unknown[])])), pointer: /\/conditions: expected at most one condition per type/ },
  ];
  for (const t of bad) {
    it(`refuses ${t.name}, naming the key and the field`, () => {
      const r = parseMachineStatus(t.text, 'status/web/web-1.json');
      expect(isParseProblem(r)).toBe(true);
      if (isParseProblem(r)) {
        expect(r.problem).toMatch(/^status\/web\/web-1\.json: /);
        expect(r.problem).toMatch(t.pointer);
      }
      if (t.name !== 'not JSON' && t.name !== 'two Ready conditions') expect(validate(JSON.parse(t.text))).toBe(false);
    });
  }

  it('refuses invalid UTF-8', () => {
    const r = parseMachineStatus(Buffer.from([0x7b, 0xff, 0x7d]), 'k');
    expect(isParseProblem(r)).toBe(true);
  });

  it('setCondition keeps the transition time when the status does not change', () => {
    const c0: Condition = { type: 'Ready', status: 'True', reason: Reason.Succeeded, message: 'a', lastTransitionTime: '2026-01-01T00:00:00.000Z' };
    const same = setCondition([c0], { ...c0, message: 'b', lastTransitionTime: '2026-01-02T00:00:00.000Z' });
    expect(same).toEqual([{ ...c0, message: 'b' }]);
    const flipped = setCondition([c0], { ...c0, status: 'False', reason: Reason.HealthCheckFailed, lastTransitionTime: '2026-01-02T00:00:00.000Z' });
    expect(flipped[0]!.lastTransitionTime).toBe('2026-01-02T00:00:00.000Z');
    const two = setCondition(flipped, { type: 'Stalled', status: 'True', reason: Reason.Quarantined, message: 'q', lastTransitionTime: '2026-01-02T00:00:00.000Z' });
    expect(two.map((c) => c.type)).toEqual(['Ready', 'Stalled']);
  });
});
