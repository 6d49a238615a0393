import { readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { removeTree } from '../util/remove-tree.js';
import { flotillaVarUnder, narInfoCacheDirUnder, nixStoreDirUnder } from './root-layout.js';
import { judgeNixTemp, nixTempNameFor } from './temp-names.js';

// Why removing another process's temp is safe even when two fetches share a root (an agent's sets, the CLI
// beside the agent): a temp is taken only when judgeNixTemp is certain its writer is gone, and it is first
// claimed by renaming it to a temp name of ours, so a writer that is in fact alive (one in another pid
// namespace, which kill(pid, 0) cannot see) loses the race cleanly: its own rename or its next write
// under the temp fails, it removes its temps and reports the error, and nothing half-written ever gets a
// real name. Two sweepers race the same way: one rename wins, the other sees ENOENT and moves on. A claimed
// temp left by a sweeper killed in turn carries that sweeper's pid and is taken by the next sweep.

/** What sweepStaleNixTemps did: absolute paths of the temps removed, and of those it could not remove. */
export interface SweptNixTemps {
  removed: string[];
  failed: { path: string; error: string }[];
}

async function sweepDir(dir: string, out: SweptNixTemps): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const name of names) {
    if (!name.startsWith('.tmp-') || judgeNixTemp(name) !== 'stale') continue;
    const path = join(dir, name);
    const claimed = nixTempNameFor(path);
    try {
      await rename(path, claimed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      out.failed.push({ path, error: (err as Error).message });
      continue;
    }
    try {
      await removeTree(claimed);
      out.removed.push(path);
    } catch (err) {
      out.failed.push({ path: claimed, error: (err as Error).message });
    }
  }
}

/**
 * Removes the leftovers of killed writers under `root`: `.tmp-*` entries (unpacked NARs, kept narinfos,
 * records) of ROOT/nix/store, ROOT/nix/var/flotilla and its narinfo/ whose writer is gone (judgeNixTemp).
 * Temps of live writers, this process's included, are never touched; trees are removed without following
 * symlinks (a NAR may hold links pointing anywhere). An entry that cannot be claimed or removed is listed
 * in `failed` and left for the next sweep; throws only when a directory cannot be read.
 */
export async function sweepStaleNixTemps(root: string): Promise<SweptNixTemps> {
  const out: SweptNixTemps = { removed: [], failed: [] };
  for (const dir of [nixStoreDirUnder(root), narInfoCacheDirUnder(root), flotillaVarUnder(root)]) await sweepDir(dir, out);
  return out;
}
