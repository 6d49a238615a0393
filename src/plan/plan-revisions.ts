import * as fs from 'node:fs';
import git from 'isomorphic-git';
import { openDeployRepo, type DeployRepo } from '../deploy-repo/index.js';
import { NotFoundError } from '../errors/index.js';

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

async function defaultBase(repo: DeployRepo, head: string, main: string): Promise<string> {
  const { gitdir } = repo;
  // A URL's cache holds only the branches fetched: BASE is main's tip, or HEAD's first parent when HEAD is it.
  if (repo.remote) {
    const tip = await repo.resolve(main);
    return tip === head ? firstParent(gitdir, head) : tip;
  }
  for (const ref of [main, `refs/remotes/origin/${main}`]) {
    const tip = await git.resolveRef({ fs, gitdir, ref }).catch(() => undefined);
    if (tip === undefined) continue;
    if (tip === head) return firstParent(gitdir, head);
    const bases: unknown = await git.findMergeBase({ fs, gitdir, oids: [head, tip] });
    const mb: unknown = Array.isArray(bases) ? bases[0] : undefined;
    if (typeof mb === 'string') return mb === head ? firstParent(gitdir, head) : mb;
  }
  return firstParent(gitdir, head);
}

/**
 * Resolves BASE and HEAD, each in git's revision syntax (`HEAD~1`, `main^2`, a tag, a short id; see
 * deploy-repo's resolveRevision). Local repo: HEAD defaults to HEAD; BASE to the merge-base of HEAD with
 * `main` (or origin/main), or HEAD's first parent when HEAD is main's tip or main is absent. URL: each
 * revision's name is a branch of the server (or an id in what was fetched), fetched into one temp cache;
 * HEAD defaults to `main`, BASE to main's tip, or HEAD's first parent when that is HEAD. Fails with
 * NotFoundError (unknown revision, no such parent) or UsageError (bad syntax, ambiguous id).
 */
export async function resolvePlanRevisions(o: { repo: string; base?: string; head?: string; main: string; cwd: string; env: NodeJS.ProcessEnv; signal: AbortSignal }): Promise<PlanRevisions> {
  const repo = await openDeployRepo({ repo: o.repo, cwd: o.cwd, env: o.env, signal: o.signal });
  try {
    const head = await repo.resolve(o.head ?? (repo.remote ? o.main : 'HEAD'));
    const base = o.base !== undefined ? await repo.resolve(o.base) : await defaultBase(repo, head, o.main);
    return { gitdir: repo.gitdir, base, head, cleanup: () => repo.close() };
  } catch (err) {
    await repo.close();
    throw err;
  }
}
