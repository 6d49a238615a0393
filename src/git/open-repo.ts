import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import git from 'isomorphic-git';
import { NotFoundError } from '../errors/index.js';
import { readGitAuthFromEnv } from './git-auth.js';
import { isHttpUrl, resolveLocalGitdir } from './local-repo.js';
import { syncRepo } from './sync-repo.js';

/** A repo opened for reading by a CLI verb, and how to let go of it. */
export interface OpenedRepo {
  gitdir: string;
  head: string;
  cleanup(): Promise<void>;
}

/**
 * Opens `repo` (a local path, relative to `cwd`, or an http(s) URL fetched into a temp cache removed by
 * cleanup) at `branch` (URL; default main) or HEAD (local, unless `branch` is given). Auth comes from
 * FLOTILLA_GIT_* in `env`. Fails with NotFoundError, GitError, TransportError, SizeLimitError, TimeoutError.
 */
export async function openRepo(options: { repo: string; cwd: string; env: NodeJS.ProcessEnv; branch?: string; signal?: AbortSignal }): Promise<OpenedRepo> {
  if (isHttpUrl(options.repo)) {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-repo-'));
    const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
    try {
      const auth = readGitAuthFromEnv(options.env);
      const r = await syncRepo({ url: options.repo, branch: options.branch ?? 'main', cacheDir: join(dir, 'repo.git'), ...(auth ? { auth } : {}), ...(options.signal ? { signal: options.signal } : {}) });
      return { gitdir: r.gitdir, head: r.head, cleanup };
    } catch (err) {
      await cleanup();
      throw err;
    }
  }
  const gitdir = await resolveLocalGitdir(resolve(options.cwd, options.repo));
  const ref = options.branch ? `refs/heads/${options.branch}` : 'HEAD';
  const head = await git.resolveRef({ fs, gitdir, ref }).catch(() => {
    throw new NotFoundError(`${ref} not found in ${gitdir}`, { gitdir, ref });
  });
  return { gitdir, head, cleanup: () => Promise.resolve() };
}
