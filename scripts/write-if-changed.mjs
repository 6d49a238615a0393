// For the build's generators (gen-version.mjs, gen-schema-validators.mjs): a generated source file is
// rewritten only when its text changes, so an unchanged build leaves its mtime (and tsc's view of it)
// alone, and through a temp name, so a killed build never leaves half a file.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/** Writes `text` to `file` unless it already holds exactly that. */
export function writeIfChanged(file, text) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    // absent: written below
  }
  if (current === text) return;
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}
