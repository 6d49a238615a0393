import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { GitError } from '../errors/index.js';

async function isGitdir(path: string): Promise<boolean> {
  try {
    const [head, objects] = await Promise.all([stat(join(path, 'HEAD')), stat(join(path, 'objects'))]);
    return head.isFile() && objects.isDirectory();
  } catch {
    return false;
  }
}

/**
 * Resolves a local repo path to its gitdir: a bare repo, a `.git` directory, or a work tree whose `.git` is
 * a directory (a `.git` file, as in worktrees and submodules, is refused). Fails with GitError naming it.
 */
export async function resolveLocalGitdir(path: string): Promise<string> {
  const full = resolve(path);
  if (await isGitdir(full)) return full;
  if (await isGitdir(join(full, '.git'))) return join(full, '.git');
  throw new GitError(`${full} is not a git repository (no bare repo or .git directory found)`, { path: full });
}

/** True when `url` names an HTTP(S) remote rather than a local path. */
export function isHttpUrl(url: string): boolean {
  return /^https?:\/\//i.test(url);
}
