import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { AgentConfig } from '../declarations/types.js';
import { verifyAt } from '../deploy-repo/index.js';
import { NotFoundError } from '../errors/index.js';
import { repoCacheDir } from '../generations/index.js';
import { testingHighWaterMarkFile } from '../generations/layout.js';
import { CommitReader, walkAncestors } from '../git/commit-graph.js';
import { readHighWaterMark, writeHighWaterMark } from '../git/high-water-mark.js';
import { readRepoAuth } from '../git/repo-auth.js';
import { syncRepo } from '../git/sync-repo.js';
import type { CommitTrust } from '../trust/commit-trust.js';

/** The testing branch a machine follows: `testing/<machine>`. */
export function testingBranchOf(machine: string): string {
  return `testing/${machine}`;
}

/** Most commits walked to decide an ancestry (as verifyAdvance's default). */
const MAX_WALK = 10_000;

async function descends(gitdir: string, head: string, ancestor: string): Promise<boolean> {
  return head === ancestor || (await walkAncestors(new CommitReader(gitdir), head, new Set([ancestor]), MAX_WALK)).reached;
}

/** What the testing branch gave: the commit to apply instead of the main branch's head. */
export interface TestingHead {
  branch: string;
  gitdir: string;
  head: string;
  signer: string;
}

/**
 * When the agent opts in (`repo.testingBranch`), decides whether this tick applies `testing/<machine>`
 * instead of the main branch head `mainHead` (already verified and ratcheted). Rules (docs/operations.md):
 * the testing head must descend from `mainHead` (else it is ignored, with a warning: the machine follows the
 * main branch); it must pass the same pinned trust as the main branch (signatures, signer changes, verify
 * head|all) from `mainHead` on; and it has its own ratchet: it must descend from the last testing commit
 * this machine applied, unless that commit is now part of the main branch (merged). A deleted branch drops
 * the testing mark (the next testing branch starts from the main branch again) and returns null.
 * Throws UntrustedCommitError / RollbackError (refused: nothing of it is applied), GitError, StateError.
 */
export async function followTestingBranch(o: { config: AgentConfig; trust: CommitTrust; log: Logger; signal: AbortSignal; now: Date; gitdir: string; mainHead: string }): Promise<TestingHead | null> {
  const { config } = o;
  if (config.repo.testingBranch !== true) return null;
  const branch = testingBranchOf(config.machine);
  const markFile = testingHighWaterMarkFile(config.stateDir);
  const auth = readRepoAuth(config.repo.auth);
  let head: string;
  let gitdir: string;
  try {
    const synced = await syncRepo({ url: config.repo.url, branch, cacheDir: repoCacheDir(config.stateDir), deadlineMs: config.repo.timeoutMs, maxBytes: config.repo.maxFetchBytes, signal: o.signal, ...(auth ? { auth } : {}) });
    ({ head, gitdir } = synced);
  } catch (err) {
    if (!(err instanceof NotFoundError) || (err.data as { branch?: unknown }).branch !== branch) throw err;
    await rm(markFile, { force: true });
    return null;
  }
  // The local cache holds both branches; a local repo is read in place, where the main head lives too.
  if (head === o.mainHead) return null;
  if (!(await descends(gitdir, head, o.mainHead))) {
    o.log.warn({ branch, head, main: o.mainHead }, `${branch} does not contain ${config.repo.branch}'s head; following ${config.repo.branch}`);
    return null;
  }
  const mark = await readHighWaterMark(markFile);
  const floor = mark !== null && !(await descends(gitdir, o.mainHead, mark.commit)) ? mark.commit : o.mainHead;
  const verdict = await verifyAt(gitdir, head, { kind: 'pinned', trust: o.trust, history: { lastApplied: floor } });
  if (!verdict.ok) throw verdict.error;
  if (mark?.commit !== head) await writeHighWaterMark(markFile, head, branch, o.now);
  return { branch, gitdir, head, signer: verdict.signer };
}
