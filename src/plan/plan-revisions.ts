import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import git from 'isomorphic-git';
import { NotFoundError } from '../errors/index.js';
import { readGitAuthFromEnv } from '../git/git-auth.js';
import { isHttpUrl, resolveLocalGitdir } from '../git/local-repo.js';
import { syncRepo } from '../git/sync-repo.js';
import { resolveRev } from '../cli/repo-source.js';

/** The two commits a plan compares, in one gitdir, and the cleanup of any temp cache. */
export interface PlanRevisions {
  gitdir: string;
  base: string;
  head: string;
  cleanup: () => Promise<void>;
}

async function firstParent(gitdir: string, oid: string): Promise<string> {
  const { commit } = await git.readCommit({ fs, gitdir, oid });
  const p = commit.parent[0];
  if (p === undefined) throw new NotFoundError(`${oid.slice(0, 12)} is the first commit: give BASE explicitly`, { oid });
  return p;
}

async function defaultBase(gitdir: string, head: string, main: string): Promise<string> {
  for (const ref of [main, `refs/remotes/origin/${main}`]) {
    const tip = await git.resolveRef({ fs, gitdir, ref }).catch(() => undefined);
    if (tip === undefined) continue;
    if (tip === head) return firstParent(gitdir, head);
    const [mb] = await git.findMergeBase({ fs, gitdir, oids: [head, tip] });
    if (typeof mb === 'string') return mb === head ? firstParent(gitdir, head) : mb;
  }
  return firstParent(gitdir, head);
}

/**
 * Resolves BASE and HEAD. Local repo: HEAD defaults to HEAD; BASE to the merge-base of HEAD with `main`
 * (or origin/main), or HEAD's first parent when HEAD is main's tip. URL: HEAD and BASE are branch names
 * (HEAD required; BASE default `main`) fetched into one temp cache. NotFoundError for an unknown revision.
 */
export async function resolvePlanRevisions(o: { repo: string; base?: string; head?: string; main: string; cwd: string; env: NodeJS.ProcessEnv; signal: AbortSignal }): Promise<PlanRevisions> {
  if (!isHttpUrl(o.repo)) {
    const gitdir = await resolveLocalGitdir(resolve(o.cwd, o.repo));
    const head = await resolveRev(gitdir, o.head ?? 'HEAD');
    const base = o.base !== undefined ? await resolveRev(gitdir, o.base) : await defaultBase(gitdir, head, o.main);
    return { gitdir, base, head, cleanup: async () => undefined };
  }
  const cacheDir = await mkdtemp(join(tmpdir(), 'flotilla-plan-'));
  const cleanup = (): Promise<void> => rm(cacheDir, { recursive: true, force: true });
  try {
    const auth = readGitAuthFromEnv(o.env);
    const sync = (branch: string): ReturnType<typeof syncRepo> => syncRepo({ url: o.repo, branch, cacheDir: join(cacheDir, 'repo.git'), ...(auth ? { auth } : {}), signal: o.signal });
    const h = await sync(o.head ?? o.main);
    const b = o.base !== undefined && /^[0-9a-f]{40}$/.test(o.base) ? { gitdir: h.gitdir, head: o.base } : await sync(o.base ?? o.main);
    const base = b.head === h.head ? await firstParent(h.gitdir, h.head) : b.head;
    return { gitdir: h.gitdir, base, head: h.head, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
