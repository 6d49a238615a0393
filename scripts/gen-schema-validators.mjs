// Writes src/declarations/schema-validators.cjs before every build (npm's prebuild): the validators of
// schemas/ compiled ahead by Ajv into standalone JavaScript (Ajv's "standalone validation code"). Compiling
// the schemas at run time took ~90 ms in every process that read a declaration or an agent config (the
// agent's tick worker at each start, and validate, plan, bump, status…), against ~7 ms to load this file.
// Rewrites the file only when it would change (write-if-changed.mjs). Not in git (.gitignore): the build
// makes it, and test/declarations/schema-validators.test.ts checks it against the schemas.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { writeIfChanged } from './write-if-changed.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The schema files, each added to Ajv so that `$ref`s between them resolve. */
export const SCHEMA_FILES = ['common', 'flotilla', 'set', 'machine', 'agent-config'];
/** The kinds of file validated, by the export name of each validator in the generated module. */
export const VALIDATED = { flotilla: 'flotilla', set: 'set', machine: 'machine', agent_config: 'agent-config' };
export const ID_BASE = 'https://flotilla.dev/schemas/';

/** Ajv as Flotilla validates with it: every error (allErrors), with the schema that failed (verbose). */
export function makeAjv(options = {}) {
  const ajv = new Ajv2020.default({ strict: true, allErrors: true, verbose: true, allowUnionTypes: true, ...options });
  addFormats.default(ajv);
  for (const f of SCHEMA_FILES) ajv.addSchema(JSON.parse(readFileSync(join(root, 'schemas', `${f}.schema.json`), 'utf8')));
  return ajv;
}

/** The generated module's text. */
export function schemaValidatorsSource() {
  const ajv = makeAjv({ code: { source: true } });
  const refs = Object.fromEntries(Object.entries(VALIDATED).map(([name, file]) => [name, `${ID_BASE}${file}.schema.json`]));
  return `// Generated from schemas/ by scripts/gen-schema-validators.mjs (npm run build). Do not edit.\n${standaloneCode.default(ajv, refs)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeIfChanged(join(root, 'src', 'declarations', 'schema-validators.cjs'), schemaValidatorsSource());
}
