// Writes src/util/version.ts from package.json's "version" before every build (npm's prebuild), so the
// version is written by hand in one place only. Rewrites the file only when it would change.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeIfChanged } from './write-if-changed.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
if (typeof version !== 'string' || !/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/.test(version)) {
  throw new Error(`package.json: "version" ${JSON.stringify(version)} is not a semantic version`);
}
const file = join(root, 'src', 'util', 'version.ts');
const text = `// Generated from package.json by scripts/gen-version.mjs (npm run build). Do not edit.
/** Flotilla's version, reported in status files and \`--version\`. */
export const FLOTILLA_VERSION = '${version}';
`;
writeIfChanged(file, text);
