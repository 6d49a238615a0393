import * as fs from 'node:fs';
import git from 'isomorphic-git';
import { classifyPath } from '../declarations/classify-path.js';
import { loadDeclarations } from '../declarations/index.js';
import { readTreeFiles } from '../git/read-tree.js';
import type { Digest } from '../store/digest.js';

/**
 * Every closure the deploy repo declared in its last `depth` commits (first-parent and merged history as
 * `git log` walks it), so store GC never collects what a revert could bring back. Commits whose
 * declarations do not load are skipped: they never deployed anything.
 */
export async function closuresInHistory(gitdir: string, oid: string, depth: number): Promise<Digest[]> {
  const commits = await git.log({ fs, gitdir, ref: oid, depth });
  const out = new Set<Digest>();
  for (const c of commits) {
    const files = await readTreeFiles({ gitdir, oid: c.oid, include: (p) => classifyPath(p).kind !== 'other' }).catch(() => undefined);
    if (files === undefined) continue;
    const loaded = loadDeclarations(files);
    if (loaded.ok) for (const s of loaded.value.sets.values()) out.add(s.closure);
  }
  return [...out].sort();
}
