import * as fs from 'node:fs';
import git from 'isomorphic-git';
import { GitError, NotFoundError, UsageError } from '../errors/index.js';
import { peelToCommit } from './peel-commit.js';

async function isCommitish(gitdir: string, oid: string): Promise<boolean> {
  return peelToCommit(gitdir, oid, oid).then(() => true, () => false);
}

/**
 * Expands an abbreviated id (4–39 lowercase hex) to the one object it prefixes in `gitdir`'s object database
 * (loose and packed). When it prefixes several objects but only one commit (or tag of one), that commit wins,
 * as in git's commit-ish disambiguation. Fails with NotFoundError when nothing matches, UsageError (data.rev,
 * data.matches) when it stays ambiguous, GitError when the object database cannot be read.
 */
export async function expandShortOid(gitdir: string, short: string, rev: string): Promise<string> {
  try {
    return await git.expandOid({ fs, gitdir, oid: short });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'NotFoundError') {
      throw new NotFoundError(`revision ${rev} not found in ${gitdir}: no branch, tag or object id starts with ${short}`, { rev, gitdir });
    }
    if (code !== 'AmbiguousError') throw new GitError(`cannot look up ${short} in ${gitdir}: ${(err as Error).message}`, { rev, gitdir }, { cause: err });
    const matches = ((err as { data?: { matches?: string[] } }).data?.matches ?? []).slice().sort();
    const commits: string[] = [];
    for (const m of matches) if (await isCommitish(gitdir, m)) commits.push(m);
    if (commits.length === 1) return commits[0]!;
    const listed = matches.slice(0, 5).map((m) => m.slice(0, 12)).join(', ');
    throw new UsageError(`revision ${rev} is ambiguous: ${short} starts ${matches.length} object ids (${listed}${matches.length > 5 ? ', …' : ''}); give more hex digits`, { rev, matches });
  }
}
