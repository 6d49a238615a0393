import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/plan/build-plan.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const schema = JSON.parse(readFileSync(resolve('schemas/plan.schema.json'), 'utf8')) as { [k: string]: Json };

function properties(node: Json, path: string): Array<[string, Json]> {
  if (node === null || typeof node !== 'object') return [];
  if (Array.isArray(node)) return node.flatMap((n, i) => properties(n, `${path}/${i}`));
  return Object.entries(node).flatMap(([k, v]) => [
    ...(k === 'properties' && v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.entries(v).map(([n, s]) => [`${path}/properties/${n}`, s] as [string, Json]) : []),
    ...properties(v, `${path}/${k}`),
  ]);
}

describe('schemas/plan.schema.json', () => {
  it('is draft 2020-12 with an $id and a description on every property, and compiles in strict mode', () => {
    expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema['$id']).toBe('https://flotilla.dev/schemas/plan.schema.json');
    const missing = properties(schema, '').filter(([, s]) => s === null || typeof s !== 'object' || Array.isArray(s) || typeof s['description'] !== 'string');
    expect(missing.map(([p]) => p)).toEqual([]);
    const ajv = new Ajv2020.default({ strict: true });
    addFormats.default(ajv);
    expect(typeof ajv.compile(schema)).toBe('function');
  });

  it('accepts the plan of invalid declarations (no sets, a failed check with details) and refuses a bad status', () => {
    const ajv = new Ajv2020.default({ strict: true });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    const plan = buildPlan({
      base: { oid: 'a'.repeat(40), decls: null, issues: [] },
      head: { oid: 'b'.repeat(40), decls: null, issues: [{ file: 'sets/web.yaml', line: 3, col: 1, pointer: '/closure', message: 'bad' }] },
      commits: [], commitTrust: 'x', closures: new Map(), quarantines: new Map(), stores: [], now: new Date(0),
    });
    expect(plan.ok).toBe(false);
    expect(plan.checks[0]).toMatchObject({ name: 'declarations', status: 'fail', details: ['sets/web.yaml:3:1 /closure bad'] });
    expect(validate(plan)).toBe(true);
    expect(validate({ ...plan, checks: [{ name: 'x', status: 'maybe', message: '' }] })).toBe(false);
  });
});
