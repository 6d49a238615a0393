import * as fs from 'node:fs';
import git from 'isomorphic-git';
import type { ClosureRef } from '../store/closure-ref.js';
import { readDeclarationsAt } from './read-declarations.js';

/**
 * Every closure the deploy repo declared in the last `depth` commits from `oid` (first-parent and merged
 * history as `git log` walks it), sorted, so store GC never collects what a revert could bring back.
 * Commits whose declarations do not load or cannot be read are skipped: they never deployed anything.
 * Fails with the git reader's error when `oid` itself cannot be walked.
 */
export async function closuresInHistory(gitdir: string, oid: string, depth: number): Promise<ClosureRef[]> {
  const commits = await git.log({ fs, gitdir, ref: oid, depth });
  const out = new Set<ClosureRef>();
  for (const c of commits) {
    const at = await readDeclarationsAt(gitdir, c.oid).catch(() => undefined);
    for (const s of at?.decls?.sets.values() ?? []) out.add(s.closure);
  }
  return [...out].sort();
}
