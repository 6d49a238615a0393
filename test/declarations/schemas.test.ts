import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getValidator } from '../../src/declarations/schema-registry.js';
// @ts-expect-error: a plain ES module of the build, without types
import { makeAjv } from '../../scripts/gen-schema-validators.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const MINE = ['common', 'flotilla', 'set', 'machine', 'agent-config'];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every property schema under `properties` (at any depth), with its JSON path in the schema file. */
function propertySchemas(node: Json, path: string): Array<[string, Json]> {
  if (node === null || typeof node !== 'object') return [];
  if (Array.isArray(node)) return node.flatMap((n, i) => propertySchemas(n, `${path}/${i}`));
  const out: Array<[string, Json]> = [];
  for (const [k, v] of Object.entries(node)) {
    if (k === 'properties' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [name, schema] of Object.entries(v)) out.push([`${path}/properties/${name}`, schema]);
    }
    out.push(...propertySchemas(v, `${path}/${k}`));
  }
  return out;
}

describe('schemas/', () => {
  it.each(MINE)('%s.schema.json is draft 2020-12 with an $id and a description on every property', (name) => {
    const schema = JSON.parse(readFileSync(join(ROOT, 'schemas', `${name}.schema.json`), 'utf8')) as { [k: string]: Json };
    expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema['$id']).toBe(`https://flotilla.dev/schemas/${name}.schema.json`);
    expect(typeof schema['description']).toBe('string');
    const props = propertySchemas(schema, '');
    const missing = props.filter(([, s]) => s === null || typeof s !== 'object' || Array.isArray(s) || typeof s['description'] !== 'string').map(([p]) => p);
    expect(missing).toEqual([]);
    if (name !== 'common') expect(props.length).toBeGreaterThan(2);
  });

  it('compiles every schema in ajv strict mode, as the build does, and the built validators are there', () => {
    const ajv = (makeAjv as () => { getSchema(id: string): unknown })();
    for (const kind of ['flotilla', 'set', 'machine', 'agent-config'] as const) {
      expect(typeof ajv.getSchema(`https://flotilla.dev/schemas/${kind}.schema.json`)).toBe('function');
      expect(typeof getValidator(kind)).toBe('function');
    }
  });
});
