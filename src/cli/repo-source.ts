import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import git from 'isomorphic-git';
import { classifyPath } from '../declarations/classify-path.js';
import { formatIssue, loadDeclarations } from '../declarations/index.js';
import type { Declarations } from '../declarations/types.js';
import { DeclarationError, NotFoundError } from '../errors/index.js';
import { readGitAuthFromEnv } from '../git/git-auth.js';
import { isHttpUrl, resolveLocalGitdir } from '../git/local-repo.js';
import { readTreeFiles } from '../git/read-tree.js';
import { syncRepo } from '../git/sync-repo.js';
import type { CommandContext } from './command.js';

/** Resolves a revision (full oid, ref name, or abbreviated oid) in a gitdir; NotFoundError naming it. */
export async function resolveRev(gitdir: string, rev: string): Promise<string> {
  if (/^[0-9a-f]{40}$/.test(rev)) return rev;
  try {
    return await git.resolveRef({ fs, gitdir, ref: rev });
  } catch {
    if (/^[0-9a-f]{4,39}$/.test(rev)) {
      const full = await git.expandOid({ fs, gitdir, oid: rev }).catch(() => undefined);
      if (full !== undefined) return full;
    }
    throw new NotFoundError(`revision ${rev} not found in ${gitdir}`, { rev });
  }
}

/** A deploy repo opened for reading: its gitdir, the commit asked for, and what to call when done. */
export interface RepoSource {
  gitdir: string;
  oid: string;
  cleanup: () => Promise<void>;
}

/**
 * Opens `repo` (a local work tree, .git or bare repo; or an http(s) URL, synced into a temp cache) at `rev`
 * (default HEAD; for a URL, a branch name, default main). Call `cleanup()` when done.
 */
export async function openRepoSource(ctx: Pick<CommandContext, 'cwd' | 'env' | 'signal'>, repo: string, rev: string | undefined): Promise<RepoSource> {
  if (isHttpUrl(repo)) {
    const cacheDir = await mkdtemp(join(tmpdir(), 'flotilla-repo-'));
    const cleanup = (): Promise<void> => rm(cacheDir, { recursive: true, force: true });
    try {
      const auth = readGitAuthFromEnv(ctx.env);
      const r = await syncRepo({ url: repo, branch: rev ?? 'main', cacheDir: join(cacheDir, 'repo.git'), ...(auth ? { auth } : {}), signal: ctx.signal });
      return { gitdir: r.gitdir, oid: r.head, cleanup };
    } catch (err) {
      await cleanup();
      throw err;
    }
  }
  const gitdir = await resolveLocalGitdir(resolve(ctx.cwd, repo));
  return { gitdir, oid: await resolveRev(gitdir, rev ?? 'HEAD'), cleanup: async () => undefined };
}

/** Reads and validates the declarations at `oid`; DeclarationError listing each issue as file:line:col. */
export async function loadDeclarationsAt(gitdir: string, oid: string): Promise<Declarations> {
  const files = await readTreeFiles({ gitdir, oid, include: (p) => classifyPath(p).kind !== 'other' });
  const loaded = loadDeclarations(files);
  if (!loaded.ok) {
    const issues = loaded.errors.map(formatIssue);
    throw new DeclarationError(`declarations at ${oid.slice(0, 12)} are invalid:\n${issues.join('\n')}`, { commit: oid, issues });
  }
  return loaded.value;
}
