import type { AgentConfig } from '../declarations/types.js';
import { readLocalHead } from '../git/local-head.js';
import { isHttpUrl } from '../git/local-repo.js';
import { readRemoteHead } from '../git/remote-head.js';
import { readRepoAuth } from '../git/repo-auth.js';

/** Longest the supervisor waits for a ref advertisement before it runs a full tick instead. */
export const HEAD_CHECK_DEADLINE_MS = 10_000;

/**
 * Where the agent's branch points now, read cheaply: one ls-refs request (git protocol v2) with the tick's own credentials
 * for an http(s) repo, the ref files for a local one. Null when the branch does not exist. Throws on any
 * doubt (network, malformed answer, symbolic ref); the caller then runs the full tick.
 */
export async function readBranchHead(repo: AgentConfig['repo']): Promise<string | null> {
  if (!isHttpUrl(repo.url)) return readLocalHead(repo.url, repo.branch);
  const auth = readRepoAuth(repo.auth);
  return readRemoteHead({ url: repo.url, branch: repo.branch, deadlineMs: Math.min(repo.timeoutMs, HEAD_CHECK_DEADLINE_MS), ...(auth ? { auth } : {}) });
}
