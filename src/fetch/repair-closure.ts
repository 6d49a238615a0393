import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { packageDirName, storeDir } from '../generations/layout.js';
import type { FetchClosureOptions } from './fetch-closure.js';
import { checkObjects } from './fsck-objects.js';
import { checkPackages } from './fsck-packages.js';
import type { Damage } from './fsck-types.js';
import { removeTree } from '../util/remove-tree.js';
import { openObjectCache } from './object-cache.js';
import { readClosureManifests } from './read-closure.js';

/**
 * Before a fetch with repair: verifies the closure's signatures and manifests as a fetch does, re-hashes
 * its materialised packages and cached objects, and removes every damaged one, so the fetch that follows
 * fetches and places them again (it reuses only what is present and, for objects, of the right size).
 * Returns what was damaged and removed. Throws what readClosureManifests throws (nothing is removed then).
 */
export async function removeDamagedOfClosure(options: Pick<FetchClosureOptions, 'stores' | 'digest' | 'policy' | 'stateDir' | 'signal' | 'limits'>): Promise<Damage[]> {
  const cache = await openObjectCache(options.stateDir);
  const closure = await readClosureManifests(options.stores, options.digest, {
    policy: options.policy,
    cache,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const dirs = new Set(closure.packages.map((p) => packageDirName(p.digest, p.manifest.name)));
  const pkgs = await checkPackages(options.stateDir, dirs);
  const objs = await checkObjects(options.stateDir, new Set(closure.packages.flatMap((p) => [p.digest, ...p.manifest.entries.flatMap((e) => (e.type === 'file' ? [e.digest] : []))])));
  const root = storeDir(options.stateDir);
  const spoiled = new Set<string>();
  for (const d of pkgs.damaged) spoiled.add(d.path.slice(root.length + 1).split('/')[0] ?? '');
  // Hard links share an inode: a damaged object is damaged in every package that links it.
  for (const d of objs.damaged) for (const dir of pkgs.objects.get(d.digest) ?? []) spoiled.add(dir);
  for (const d of objs.damaged) await rm(d.path, { force: true });
  for (const dir of spoiled) if (dirs.has(dir)) await removeTree(join(root, dir));
  return [...pkgs.damaged, ...objs.damaged];
}
