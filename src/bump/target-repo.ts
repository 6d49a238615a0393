import * as fs from 'node:fs';
import git from 'isomorphic-git';
import type { Declarations } from '../declarations/types.js';
import { openLocalDeployRepo, readDeclarationsAt, requireDeclarations } from '../deploy-repo/index.js';
import { UsageError } from '../errors/index.js';

/** Where a bump lands: the repo, the branch ref it moves, the commit it builds on, and that commit's files. */
export interface BumpTarget {
  gitdir: string;
  /** The work tree, when the repo has one (a bare repo has none). */
  workTree?: string;
  ref: string;
  /** True when `ref` is the checked-out branch of the work tree: its files follow the commit. */
  checkedOut: boolean;
  /** The commit the new one builds on (the branch tip, or HEAD for a new branch). */
  base: string;
  files: Map<string, Uint8Array>;
  decls: Declarations;
}

// A conservative subset of git's ref-name rules: no `..`, no leading dash or dot, no control characters.
const BRANCH_RE = /^(?!.*\.\.)(?!.*\/\.)[A-Za-z0-9][A-Za-z0-9._/-]{0,199}(?<![./])$/;

/**
 * Opens the deploy repo at `dir` for a bump on `branch` (default: the checked-out branch). A branch that
 * does not exist yet starts at HEAD. Throws GitError (not a repo), UsageError (detached HEAD without
 * --branch, or an invalid branch name), DeclarationError (the declarations at the base are invalid).
 */
export async function openBumpTarget(dir: string, branch: string | undefined): Promise<BumpTarget> {
  const { gitdir, workTree } = await openLocalDeployRepo(dir);
  const current = await git.currentBranch({ fs, gitdir, fullname: true }).catch(() => undefined);
  if (branch !== undefined && !BRANCH_RE.test(branch)) throw new UsageError(`--branch: invalid branch name ${JSON.stringify(branch)}`);
  const ref = branch !== undefined ? `refs/heads/${branch}` : current;
  if (ref === undefined) throw new UsageError('HEAD is detached: name the branch to commit on with --branch NAME');
  const base = await git.resolveRef({ fs, gitdir, ref }).catch(() => git.resolveRef({ fs, gitdir, ref: 'HEAD' }));
  const at = await readDeclarationsAt(gitdir, base);
  const decls = requireDeclarations(at, { what: `the declarations at ${base.slice(0, 12)} are` });
  return { gitdir, ...(workTree ? { workTree } : {}), ref, checkedOut: workTree !== undefined && ref === current, base, files: at.files, decls };
}
