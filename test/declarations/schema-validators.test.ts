// The schemas' validators are compiled ahead, by the build (scripts/gen-schema-validators.mjs writes
// src/declarations/schema-validators.cjs), not by Ajv in every process that reads a declaration. Checked
// here: the generated file is what the schemas give now, and it judges documents exactly as Ajv compiling
// the same schemas at run time does, valid or not, error for error (the messages of schema-check.ts are
// made from those errors, with the failing schema that `verbose` puts in each).
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { getValidator, type SchemaKind } from '../../src/declarations/schema-registry.js';
// @ts-expect-error: a plain ES module of the build, without types
import { ID_BASE, makeAjv, schemaValidatorsSource } from '../../scripts/gen-schema-validators.mjs';

const ROOT = resolve(import.meta.dirname, '../..');

interface Ajv {
  getSchema(id: string): ((doc: unknown) => boolean) & { errors?: unknown };
}

/** The documents of examples/, by kind. */
const EXAMPLES: Array<[SchemaKind, string]> = [
  ['flotilla', 'examples/deploy-repo/flotilla.yaml'],
  ['set', 'examples/deploy-repo/sets/web.yaml'],
  ['set', 'examples/deploy-repo/sets/db.yaml'],
  ['set', 'examples/deploy-repo/sets/api.yaml'],
  ['machine', 'examples/deploy-repo/machines/web-1.yaml'],
  ['machine', 'examples/deploy-repo/machines/db-1.yaml'],
  ['agent-config', 'examples/agent.yaml'],
];

/** The document itself and wrong ones made from it: an unknown property, each property of the wrong type, each one left out. */
function variants(doc: Record<string, unknown>): unknown[] {
  const out: unknown[] = [doc, { ...doc, bogus: 1 }, [], 'text', null];
  for (const key of Object.keys(doc)) {
    out.push({ ...doc, [key]: Array.isArray(doc[key]) ? 7 : [] });
    out.push({ ...doc, [key]: typeof doc[key] === 'string' ? 'not a valid value: /../' : 'text' });
    const { [key]: _left, ...rest } = doc;
    out.push(rest);
  }
  return out;
}

describe('the generated schema validators', () => {
  it('are what the schemas give now (npm run build writes them)', async () => {
    const file = await readFile(join(ROOT, 'src', 'declarations', 'schema-validators.cjs'), 'utf8');
    expect(file === (schemaValidatorsSource as () => string)(), 'src/declarations/schema-validators.cjs is stale: run npm run build').toBe(true);
  });

  it('judge every document as Ajv compiling the schemas at run time does, error for error', async () => {
    const ajv = (makeAjv as () => Ajv)();
    let invalid = 0;
    for (const [kind, path] of EXAMPLES) {
      const doc = parse(await readFile(join(ROOT, path), 'utf8')) as Record<string, unknown>;
      const runtime = ajv.getSchema(`${ID_BASE as string}${kind}.schema.json`);
      const generated = getValidator(kind);
      for (const v of variants(doc)) {
        const ok = generated(v);
        expect(ok, `${path}: ${JSON.stringify(v).slice(0, 200)}`).toBe(runtime(v));
        expect(generated.errors ?? null).toEqual(runtime.errors ?? null);
        if (!ok) invalid++;
      }
      expect(generated(doc), `${path} is valid`).toBe(true);
    }
    expect(invalid).toBeGreaterThan(50);
  });

  it('when the build has not made them, say so and what to run', async () => {
    // The built registry alone in a folder, as a source tree that was never built has it.
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-no-validators-'));
    try {
      await copyFile(join(ROOT, 'dist', 'src', 'declarations', 'schema-registry.js'), join(dir, 'schema-registry.mjs'));
      const probe = `import(${JSON.stringify(join(dir, 'schema-registry.mjs'))}).then((m) => m.getValidator('set'))`;
      const err = await promisify(execFile)(process.execPath, ['-e', probe]).then(() => undefined, (e: unknown) => e as { stderr: string });
      expect(err?.stderr).toContain(`the schemas' validators are missing beside ${join(dir, 'schema-registry.mjs')}: run npm run build`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuse an unknown property, naming it, with the schema that refused it', () => {
    const set = getValidator('set');
    expect(set({ closure: 'sha256:' + 'a'.repeat(64), bogus: 1 })).toBe(false);
    const e = set.errors?.find((x) => x.keyword === 'additionalProperties');
    expect(e?.params).toEqual({ additionalProperty: 'bogus' });
    expect(typeof (e?.parentSchema as { title?: unknown } | undefined)?.title).toBe('string');
  });
});
