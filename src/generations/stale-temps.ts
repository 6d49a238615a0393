import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isTempName, type SetPaths } from './layout.js';

async function sweep(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const stale = names.filter(isTempName);
  // rm does not follow links: a dangling or live temp link is removed itself, a temp dir with its contents.
  for (const n of stale) await rm(join(dir, n), { recursive: true, force: true });
  return stale.map((n) => join(dir, n));
}

/**
 * Removes leftovers of interrupted writes (`.tmp-*` files, directories and links, dangling or not) from
 * sets/SET and sets/SET/generations. Call only under the set lock: every temp name there is made by a
 * holder of that lock, so none can belong to a live writer. Returns the paths removed.
 */
export async function cleanStaleTemps(paths: SetPaths): Promise<string[]> {
  return [...(await sweep(paths.setDir)), ...(await sweep(paths.generationsDir))];
}
