import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hasCode } from '../errors/index.js';
import { readGitAuthFromEnv } from '../git/git-auth.js';
import { isHttpUrl, resolveLocalGitdir } from '../git/local-repo.js';
import { syncRepo } from '../git/sync-repo.js';
import { isFullOid, isShortOid, localNames, resolveRevision, type NameResolver } from './resolve-revision.js';

/** A deploy repo opened for reading at any commit. */
export interface DeployRepo {
  /** Where the objects are: the local gitdir, or the temp cache a URL is fetched into. */
  readonly gitdir: string;
  /** The work tree of a local repo that has one (a bare repo or a URL has none). */
  readonly workTree?: string;
  /** True when opened from an http(s) URL. */
  readonly remote: boolean;
  /** What `resolve()` resolves when given nothing: HEAD locally, `main` for a URL. */
  readonly defaultRev: string;
  /**
   * Resolves a revision (see resolveRevision) to a commit id. For a URL the name is a branch of the server,
   * fetched (with its history) into the cache first, or a commit id already fetched.
   */
  resolve(rev?: string): Promise<string>;
  /** Removes the temp cache of a URL; a no-op for a local repo. Call it once, when done. */
  close(): Promise<void>;
}

/** Where the repo is and what to fetch it with. */
export interface OpenDeployRepoOptions {
  /** A local work tree, `.git` dir or bare repo (relative to `cwd`), or an http(s) URL. */
  repo: string;
  cwd: string;
  /** FLOTILLA_GIT_* credentials for a URL are read from here (never from the URL or the repo). */
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** Opens a local repo (path already absolute or relative to the process); GitError when it is not one. */
export async function openLocalDeployRepo(path: string): Promise<DeployRepo> {
  const full = resolve(path);
  const gitdir = await resolveLocalGitdir(full);
  return {
    gitdir, ...(gitdir === full ? {} : { workTree: full }), remote: false, defaultRev: 'HEAD',
    resolve: (rev = 'HEAD') => resolveRevision(gitdir, rev),
    close: () => Promise.resolve(),
  };
}

/** For a URL: branch names are fetched; ids (and, failing a branch, short ids) are looked up in the cache. */
function remoteNames(o: OpenDeployRepoOptions, cacheDir: string): NameResolver {
  const local = localNames(cacheDir);
  const auth = readGitAuthFromEnv(o.env);
  return async (name, rev) => {
    if (isFullOid(name)) return local(name, rev);
    const branch = name.replace(/^refs\/heads\//, '');
    try {
      const r = await syncRepo({ url: o.repo, branch, cacheDir, ...(auth ? { auth } : {}), ...(o.signal ? { signal: o.signal } : {}) });
      return r.head;
    } catch (err) {
      if (!hasCode(err, 'NotFoundError') || !isShortOid(name)) throw err;
      return local(name, rev);
    }
  };
}

/**
 * Opens `o.repo`: a local path (read in place) or an http(s) URL (a temp cache removed by close(); each
 * branch a revision names is fetched into it). Fails with GitError (not a repo); resolve() fails as
 * resolveRevision does, plus NotFoundError (no such branch), TransportError, SizeLimitError, TimeoutError.
 */
export async function openDeployRepo(o: OpenDeployRepoOptions): Promise<DeployRepo> {
  if (!isHttpUrl(o.repo)) return openLocalDeployRepo(resolve(o.cwd, o.repo));
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-repo-'));
  const cacheDir = join(dir, 'repo.git');
  const names = remoteNames(o, cacheDir);
  return {
    gitdir: cacheDir, remote: true, defaultRev: 'main',
    resolve: (rev = 'main') => resolveRevision(cacheDir, rev, names),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
