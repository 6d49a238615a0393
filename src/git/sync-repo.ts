import * as fs from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import git from 'isomorphic-git';
import { FlotillaError, GitError, NotFoundError } from '../errors/index.js';
import { tempNameFor, writeFileAtomic } from '../util/atomic-write.js';
import { createCappedHttp, createHttpBudget, redactUrl, type HttpBudget } from './capped-http.js';
import { authHeaders, type GitAuth } from './git-auth.js';
import { isHttpUrl, resolveLocalGitdir } from './local-repo.js';

/** What to sync. `url` is http(s) or a local path (bare repo, `.git`, or a work tree with `.git`). */
export interface SyncOptions {
  url: string;
  branch: string;
  /** A bare gitdir we own, used as the fetch cache for HTTP remotes (created on first use). */
  cacheDir: string;
  auth?: GitAuth;
  /** Deadline for the whole sync (default 60 s). */
  deadlineMs?: number;
  /** Byte cap over all responses of the sync (default 256 MiB). */
  maxBytes?: number;
  signal?: AbortSignal;
  /**
   * The branch head the caller learned moments ago (the daemon's poll: the head pointer unchanged, or its
   * own head check). When the cache already holds exactly this commit, the server is not asked again; any
   * other cache state syncs as usual. It names a commit only: the caller still verifies what it reads.
   */
  knownHead?: string;
}

/** Where the branch head now is, in which gitdir, and whether it moved since the previous sync. */
export interface SyncResult {
  gitdir: string;
  head: string;
  changed: boolean;
}

// isomorphic-git moves the remote-tracking ref BEFORE it has received the pack, so a fetch cut short by a
// cap would leave a ref to missing objects. It fetches into this scratch remote; our own branch ref moves
// only after the head commit is known to be readable.
const INCOMING = 'flotilla-incoming';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** Creates `cacheDir` as a bare repo atomically (init in a temp dir beside it, then rename). */
async function ensureCache(cacheDir: string): Promise<void> {
  if (await exists(`${cacheDir}/HEAD`)) return;
  await mkdir(dirname(cacheDir), { recursive: true });
  const tmp = tempNameFor(cacheDir);
  try {
    await git.init({ fs, gitdir: tmp, bare: true, defaultBranch: 'main' });
    // The URL is passed on every fetch (it may come from the environment); only the refspec lives here.
    await git.setConfig({ fs, gitdir: tmp, path: `remote.${INCOMING}.fetch`, value: `+refs/heads/*:refs/remotes/${INCOMING}/*` });
    await rename(tmp, cacheDir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if (!(await exists(`${cacheDir}/HEAD`))) throw err;
  }
}

async function resolveOrNull(gitdir: string, ref: string): Promise<string | null> {
  try {
    return await git.resolveRef({ fs, gitdir, ref });
  } catch {
    return null;
  }
}

function wrap(err: unknown, budget: HttpBudget, url: string, what: string): Error {
  if (budget.tripped) return budget.tripped;
  if (err instanceof FlotillaError) return err;
  return new GitError(`${what} ${redactUrl(url)} failed: ${(err as Error).message}`, { url: redactUrl(url) }, { cause: err });
}

async function syncHttp(options: SyncOptions): Promise<SyncResult> {
  const { url, branch, cacheDir } = options;
  const budget = createHttpBudget(options.maxBytes ?? 256 * 1024 * 1024, options.deadlineMs ?? 60_000, options.signal);
  const http = createCappedHttp(budget);
  const headers = authHeaders(options.auth);
  const ref = `refs/heads/${branch}`;
  if (options.knownHead !== undefined && (await resolveOrNull(cacheDir, ref)) === options.knownHead) return { gitdir: cacheDir, head: options.knownHead, changed: false };
  let serverOid: string | undefined;
  try {
    // isomorphic-git adds Git-Protocol to the headers object it is given: pass a copy each time.
    const refs = await git.listServerRefs({ http, url, headers: { ...headers }, protocolVersion: 2, prefix: ref });
    serverOid = refs.find((r) => r.ref === ref)?.oid;
  } catch (err) {
    throw wrap(err, budget, url, 'listing refs of');
  }
  if (!serverOid) throw new NotFoundError(`branch ${branch} not found at ${redactUrl(url)}`, { url: redactUrl(url), branch });
  await ensureCache(cacheDir);
  // Our own branch in our own cache: isomorphic-git's single-branch fetch sends `refs/heads/<branch>` as its
  // only "have", so keeping the verified-readable head there makes fetches incremental.
  const tracking = `refs/heads/${branch}`;
  const before = await resolveOrNull(cacheDir, tracking);
  if (before === serverOid) return { gitdir: cacheDir, head: serverOid, changed: false };
  // Full history of the one branch, negotiated against what the cache has: the ancestry check needs it,
  // and the byte cap bounds it.
  const incoming = `refs/remotes/${INCOMING}/${branch}`;
  let head: string | null;
  try {
    const res = await git.fetch({ fs, http, gitdir: cacheDir, url, remote: INCOMING, ref: branch, remoteRef: branch, singleBranch: true, tags: false, headers: { ...headers } });
    head = res.fetchHead;
    if (!head) throw new GitError(`fetch of ${branch} from ${redactUrl(url)} produced no head`, { url: redactUrl(url), branch });
    await git.readCommit({ fs, gitdir: cacheDir, oid: head });
  } catch (err) {
    await git.deleteRef({ fs, gitdir: cacheDir, ref: incoming }).catch(() => undefined);
    throw wrap(err, budget, url, 'fetching');
  }
  await git.writeRef({ fs, gitdir: cacheDir, ref: tracking, value: head, force: true });
  return { gitdir: cacheDir, head, changed: head !== before };
}

async function syncLocal(options: SyncOptions): Promise<SyncResult> {
  const gitdir = await resolveLocalGitdir(options.url);
  const head = await resolveOrNull(gitdir, `refs/heads/${options.branch}`);
  if (!head) throw new NotFoundError(`branch ${options.branch} not found in ${gitdir}`, { gitdir, branch: options.branch });
  // The cache dir only remembers which head we saw last, so `changed` means the same as for HTTP.
  const seenFile = `${options.cacheDir}.local-head`;
  const before = await readFile(seenFile, 'utf8').then((s) => s.trim(), () => null);
  if (before !== head) {
    await mkdir(dirname(seenFile), { recursive: true });
    await writeFileAtomic(seenFile, `${head}\n`);
  }
  return { gitdir, head, changed: before !== head };
}

/**
 * Brings the branch head of `url` within reach as git objects and reports whether it moved.
 * HTTP(S): asks the server for the one ref (protocol v2 ls-refs); fetches the branch's history into
 * `cacheDir` only when the oid differs from the cached tracking ref. Local path: read in place, no copy.
 * Fails with NotFoundError (no such branch), SizeLimitError / TimeoutError (caps), TransportError
 * (network) or GitError (the repo or protocol); URLs in errors have their credentials removed.
 * Makes no trust decision: the caller verifies `head` before using anything in it.
 */
export async function syncRepo(options: SyncOptions): Promise<SyncResult> {
  return isHttpUrl(options.url) ? syncHttp(options) : syncLocal(options);
}
