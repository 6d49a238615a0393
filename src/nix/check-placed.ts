import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { formatSha256, parseSha256 } from './hash.js';
import { removeTree } from '../util/remove-tree.js';
import { nixStoreDirUnder } from './root-layout.js';
import { narHashOfPath } from './nar-hash-path.js';
import type { NarInfo } from './narinfo.js';
import { parseStorePath, storeBaseName } from './store-path.js';
import { nixTempNameFor } from './temp-names.js';

/** A placed store path whose contents no longer match the NarHash it was verified against. */
export interface DamagedNixPath {
  storePath: string;
  /** Where it is on disk (`<root>/nix/store/<hash>-<name>`). */
  path: string;
  expected: string;
  /** The NAR hash of what is on disk, or 'missing'. */
  actual: string;
}

/**
 * Re-hashes `storePath` as placed under `root` (its NAR serialisation, as `nix-store --dump` makes it) and
 * compares it with `narHash` (any form parseSha256 reads). Returns the damage, or undefined when it matches.
 * A missing path is damage. Throws the filesystem's other errors.
 */
export async function checkPlacedPath(root: string, storePath: string, narHash: string): Promise<DamagedNixPath | undefined> {
  const path = join(nixStoreDirUnder(root), storeBaseName(parseStorePath(storePath)));
  const expected = formatSha256(parseSha256(narHash, `NarHash of ${storePath}`));
  let actual: string;
  try {
    actual = (await narHashOfPath(path)).narHash;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    actual = 'missing';
  }
  return actual === expected ? undefined : { storePath, path, expected, actual };
}

/**
 * For a repair: re-hashes each path of `closure` (verified narinfos) already under `root` against its signed
 * NarHash and takes every damaged one out of the store (renamed to a temp name first, so a crash never
 * leaves half a path under its real name), so materialiseNixClosure fetches it again. Paths not there are
 * left to that fetch. Returns what was damaged and removed.
 */
export async function removeDamagedPlacedPaths(closure: readonly NarInfo[], root: string): Promise<DamagedNixPath[]> {
  const damaged: DamagedNixPath[] = [];
  for (const info of closure) {
    const d = await checkPlacedPath(root, info.storePath, info.narHash);
    if (d === undefined || d.actual === 'missing') continue;
    const doomed = nixTempNameFor(d.path);
    await rename(d.path, doomed);
    await removeTree(doomed);
    damaged.push(d);
  }
  return damaged;
}
