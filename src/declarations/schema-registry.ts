import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** The schemas of schemas/, by the kind of file they check. */
export type SchemaKind = 'flotilla' | 'set' | 'machine' | 'agent-config';

const FILES = ['common', 'flotilla', 'set', 'machine', 'agent-config'] as const;
const ID_BASE = 'https://flotilla.dev/schemas/';

/**
 * The package root: the nearest ancestor of this module holding schemas/set.schema.json. Works from src/
 * (vitest, tsx) and from dist/src/ (the built CLI) alike. Throws when the schemas are not shipped.
 */
export function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'schemas', 'set.schema.json')) && existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the schemas/ directory above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

let compiled: Map<SchemaKind, ValidateFunction> | undefined;

function compileAll(): Map<SchemaKind, ValidateFunction> {
  // Ajv's CJS default export is the class under .default when imported from ESM.
  const ajv = new Ajv2020.default({ strict: true, allErrors: true, verbose: true, allowUnionTypes: true });
  addFormats.default(ajv);
  const root = join(findPackageRoot(), 'schemas');
  for (const f of FILES) ajv.addSchema(JSON.parse(readFileSync(join(root, `${f}.schema.json`), 'utf8')) as object);
  const out = new Map<SchemaKind, ValidateFunction>();
  for (const kind of ['flotilla', 'set', 'machine', 'agent-config'] as const) {
    const v = ajv.getSchema(`${ID_BASE}${kind}.schema.json`);
    if (!v) throw new Error(`schema ${kind}.schema.json did not compile`);
    out.set(kind, v);
  }
  return out;
}

/** The compiled validator for a kind of file; schemas are read and compiled once per process. Throws on a broken schema (a bug). */
export function getValidator(kind: SchemaKind): ValidateFunction {
  compiled ??= compileAll();
  const v = compiled.get(kind);
  if (!v) throw new Error(`no schema for ${kind}`);
  return v;
}
