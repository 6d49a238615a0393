import type { Logger } from 'pino';
import type { AgentConfig, Declarations } from '../declarations/types.js';
import { readDeclarationsAt, requireDeclarations, verifyAt } from '../deploy-repo/index.js';
import { StaleRepoError } from '../errors/index.js';
import { highWaterMarkFile, repoCacheDir } from '../generations/index.js';
import { readHighWaterMark, writeHighWaterMark } from '../git/high-water-mark.js';
import { syncRepo } from '../git/sync-repo.js';
import { readRepoAuth } from '../git/repo-auth.js';
import type { CommitTrust } from '../trust/commit-trust.js';
import { runStep, type StepTiming } from './step.js';
import { followTestingBranch } from './testing-branch.js';

/** A verified commit of the deploy repo and what it declares. */
export interface RepoSnapshot {
  commit: string;
  signer: string;
  decls: Declarations;
  /** True when HEAD moved since the previous tick of this process. */
  changed: boolean;
  /**
   * Applying testing/<machine>: the sets whose closure there differs from the main branch's. The machine
   * tries those alone (a rollout of one), never waiting for batches the rest of the fleet will not run.
   */
  trialSets?: ReadonlySet<string>;
}

/** Inputs of readRepoSnapshot. */
export interface SnapshotOptions {
  config: AgentConfig;
  trust: CommitTrust;
  log: Logger;
  timings: StepTiming[];
  now: Date;
  signal: AbortSignal;
  /** The last snapshot this process verified: reused as is when HEAD has not moved. */
  previous?: RepoSnapshot;
  /** The branch head the daemon's poll just read (syncRepo's knownHead): git is not asked when the cache has it. */
  knownHead?: string;
}

/**
 * Steps 1–3 of a tick: sync the repo (refs-only poll, fetch when moved), verify HEAD (signature, descent
 * from the last applied commit or the pinned floor, signer rotation), raise the high-water mark, read the
 * declarations as git objects at that commit and validate them, and refuse a repo past its signed expiry.
 * With `repo.testingBranch`, `testing/<machine>` replaces HEAD when it is ahead of it (testing-branch.ts).
 * Throws UntrustedCommitError, RollbackError, DeclarationError (data.issues), StaleRepoError, GitError.
 */
export async function readRepoSnapshot(o: SnapshotOptions): Promise<RepoSnapshot> {
  const { config, log, timings } = o;
  const auth = readRepoAuth(config.repo.auth);
  const synced = await runStep(timings, log, 'sync', {}, () =>
    syncRepo({
      url: config.repo.url,
      branch: config.repo.branch,
      cacheDir: repoCacheDir(config.stateDir),
      deadlineMs: config.repo.timeoutMs,
      maxBytes: config.repo.maxFetchBytes,
      signal: o.signal,
      ...(auth ? { auth } : {}),
      ...(o.knownHead !== undefined ? { knownHead: o.knownHead } : {}),
    }),
  );
  // HEAD unchanged since this process verified and loaded it: nothing to verify or parse again.
  const reuse = o.previous?.commit === synced.head ? o.previous : undefined;
  const main = reuse ?? (await verifyAndLoad(o, synced.gitdir, synced.head));
  const testing = await runStep(timings, log, 'testing-branch', {}, () => followTestingBranch({ config, trust: o.trust, log, signal: o.signal, now: o.now, gitdir: synced.gitdir, mainHead: synced.head }));
  const head = testing?.head ?? synced.head;
  const { signer, decls } = testing === null ? main : { signer: testing.signer, decls: o.previous?.commit === testing.head ? o.previous.decls : await loadDeclarations(o, testing.gitdir, testing.head) };
  const expires = decls.config.expires;
  if (expires !== undefined && expires.getTime() < o.now.getTime()) {
    throw new StaleRepoError(`deploy repo at ${head.slice(0, 12)} expired at ${expires.toISOString()}; changing nothing until a fresh signed commit arrives`, { commit: head, expires: expires.toISOString() });
  }
  const changed = testing === null ? synced.changed : head !== o.previous?.commit;
  if (testing === null) return { commit: head, signer, decls, changed };
  const trialSets = new Set([...decls.sets.values()].filter((s) => main.decls.sets.get(s.name)?.closure !== s.closure).map((s) => s.name));
  return { commit: head, signer, decls, changed, trialSets };
}

/** Verifies HEAD (signature, descent, signer rotation), raises the high-water mark, loads the declarations. */
async function verifyAndLoad(o: SnapshotOptions, gitdir: string, head: string): Promise<{ signer: string; decls: Declarations }> {
  const { config, log, timings } = o;
  const verified = await runStep(timings, log, 'verify', {}, async () => {
    const mark = await readHighWaterMark(highWaterMarkFile(config.stateDir));
    const history = { ...(mark ? { lastApplied: mark.commit } : {}), ...(config.trust.minimumCommit ? { minimumCommit: config.trust.minimumCommit } : {}) };
    const result = await verifyAt(gitdir, head, { kind: 'pinned', trust: o.trust, history });
    if (!result.ok) throw result.error;
    // Once a descendant is verified, never accept anything below it again, even if applying fails.
    if (mark?.commit !== head) await writeHighWaterMark(highWaterMarkFile(config.stateDir), head, config.repo.branch, o.now);
    return result;
  });
  return { signer: verified.signer, decls: await loadDeclarations(o, gitdir, head) };
}

/** Reads and validates the declarations at `head` (DeclarationError with data.issues). */
async function loadDeclarations(o: SnapshotOptions, gitdir: string, head: string): Promise<Declarations> {
  return runStep(o.timings, o.log, 'declarations', {}, async () =>
    requireDeclarations(await readDeclarationsAt(gitdir, head), { what: `deploy repo at ${head.slice(0, 12)}`, oneLine: true }),
  );
}
