import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { findGeneration, readCurrent, readState, setPaths } from '../../src/generations/index.js';

/**
 * Asserts what must hold after recovery: `current` is unset or points to a complete generation whose
 * packages read back the same version, state.json has no marker and names it active, no temp names remain.
 * Returns the version `current` serves (undefined when unset).
 */
export async function expectConsistent(stateDir: string, set: string): Promise<string | undefined> {
  const paths = setPaths(stateDir, set);
  const state = await readState(paths.stateFile);
  const cur = await readCurrent(paths.current);
  expect(state.pending).toBeUndefined();
  expect(state.rollback).toBeUndefined();
  expect(state.active).toBe(cur?.number);
  const leftovers = [
    ...(await readdir(paths.setDir).catch(() => [])),
    ...(await readdir(paths.generationsDir).catch(() => [])),
  ].filter((n) => n.startsWith('.tmp-'));
  expect(leftovers).toEqual([]);
  if (!cur) return undefined;
  const g = await findGeneration(paths, cur.number);
  expect(g.origin.packages.map((p) => p.name).sort()).toEqual(['app', 'lib']);
  const app = await readFile(join(paths.current, 'app', 'file'), 'utf8');
  const lib = await readFile(join(paths.current, 'lib', 'file'), 'utf8');
  expect(lib).toBe(app);
  return app;
}
