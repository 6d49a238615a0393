import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const OWNER = 'src/generations/layout.ts';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? sources(path) : e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Lines that build a path inside a state dir by hand: `join(stateDir, …)`, `join(ctx.stateDir, …)` and the like. */
export function handBuiltStatePaths(text: string): number[] {
  return text.split('\n').flatMap((line, i) => (/join\(\s*(?:[\w.]+\.)?stateDir\s*,/.test(line) ? [i + 1] : []));
}

describe('the state-dir layout has one owner', () => {
  it('finds hand-built state paths (the detector itself)', () => {
    expect(handBuiltStatePaths("const f = join(stateDir, 'status.json');\nconst g = join(ctx.stateDir, 'x');\nok(stateDirOf(m));")).toEqual([1, 2]);
    expect(handBuiltStatePaths('const p = setPaths(stateDir, set);')).toEqual([]);
  });

  it(`no file of src/ but ${OWNER} joins a path onto a state dir`, () => {
    const found = sources('src')
      .filter((f) => relative('.', f) !== OWNER)
      .flatMap((f) => handBuiltStatePaths(readFileSync(f, 'utf8')).map((line) => `${relative('.', f)}:${line}`));
    expect(found, `build these paths with ${OWNER}`).toEqual([]);
  });
});
