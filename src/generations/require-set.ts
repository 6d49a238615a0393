import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { NotFoundError } from '../errors/index.js';
import { setPaths, type SetPaths } from './layout.js';

/**
 * For operator verbs: the paths of a set that must already exist, resolved against `cwd`.
 * NotFoundError naming the set and state dir when it does not (so a typo creates nothing);
 * InvalidNameError for a name that cannot be a path segment.
 */
export async function requireSet(stateDir: string, set: string, cwd: string): Promise<SetPaths> {
  const paths = setPaths(resolve(cwd, stateDir), set);
  const st = await stat(paths.setDir).catch(() => undefined);
  if (!st?.isDirectory()) throw new NotFoundError(`no set ${set} in state dir ${paths.stateDir}`, { set, stateDir: paths.stateDir });
  return paths;
}
