import { RollbackError, UntrustedCommitError } from '../errors/index.js';
import { CommitReader, walkAncestors } from '../git/commit-graph.js';
import { assertHasKeys, type CommitTrust } from './commit-trust.js';
import { verifyCommit, type VerifiedCommit } from './commit-verify.js';
import { narrowTrust, RepoSignersReader } from './repo-signers.js';

/** What to judge: the new `head` against the last applied commit (or the floor) under the pinned trust. */
export interface VerifyAdvanceOptions {
  gitdir: string;
  head: string;
  /** The high-water mark: the last commit this machine applied. */
  lastApplied?: string;
  /** The pinned floor from the agent config, used when there is no high-water mark. */
  minimumCommit?: string;
  trust: CommitTrust;
  /** Most commits walked per ancestry check (default 10,000). */
  maxWalk?: number;
  /** Key validity is judged at this time too (default Date.now()); null: at commit times only. */
  now?: number | null;
  /** Path of the repo's own signer list at the tree root (default `allowed_signers`). */
  signersPath?: string;
  cache?: object;
}

/** An accepted advance: who signed HEAD and the commits new since the base (HEAD first). */
export interface AdvanceVerdict {
  head: string;
  signer: string;
  fingerprint: string;
  format: VerifiedCommit['format'];
  commits: string[];
}

function withData(err: unknown, extra: Record<string, unknown>): unknown {
  if (err instanceof UntrustedCommitError) return new UntrustedCommitError(err.message, { ...err.data, ...extra }, { cause: err });
  return err;
}

/**
 * Decides whether this machine may move from `lastApplied` to `head`. The rules, in order:
 *
 * 1. Ancestry, not timestamps: `head` must descend from `lastApplied` (or equal it); else RollbackError
 *    { head, lastApplied, reason: 'behind-last-applied' } — force-push to an older commit or to a sibling.
 *    With no high-water mark, `head` must descend from `minimumCommit` (reason 'below-floor'), so a wiped
 *    state dir cannot make the agent trust history below the pinned floor. With neither, HEAD is judged alone.
 * 2. Root of trust: the agent's pinned `trust`. A commit C is judged by `narrowTrust(pinned,
 *    allowed_signers at C's first parent)`: the repo's own allowed_signers can narrow (revoke, rotate
 *    between pinned keys) but never add a key the agent did not pin.
 * 3. Signer changes: every new commit that changes allowed_signers (its blob differs from each parent's)
 *    must itself be signed by a key trusted before the change (rule 2 at its parent), in both modes; else
 *    UntrustedCommitError with data.rule 'signers-change'.
 * 4. `verify: 'head'`: HEAD must be trusted; `'all'`: every new commit must be. A merge accepted only
 *    through the forge merge key needs its merged-in parents trusted by pinned keys (data.rule 'merge-parent').
 *
 * Other failures: UntrustedCommitError (data.oid, data.reason), KeyError (no keys), SizeLimitError (walk
 * cap), NotFoundError/GitError (objects missing), UnsafeTreeError/KeyError (a broken allowed_signers).
 * Pure: reads objects only; the caller records the high-water mark after applying.
 */
export async function verifyAdvance(options: VerifyAdvanceOptions): Promise<AdvanceVerdict> {
  const { head, lastApplied, minimumCommit, trust } = options;
  assertHasKeys(trust);
  const maxWalk = options.maxWalk ?? 10_000;
  const reader = new CommitReader(options.gitdir, options.cache ?? {});
  const repoSigners = new RepoSignersReader(reader, options.signersPath);
  const base = lastApplied ?? minimumCommit;

  let commits = [head];
  if (base !== undefined && base !== head) {
    const walk = await walkAncestors(reader, head, new Set([base]), maxWalk);
    if (!walk.reached) {
      throw new RollbackError(
        lastApplied !== undefined
          ? `new HEAD ${head} does not descend from the last applied commit ${lastApplied}`
          : `HEAD ${head} does not descend from the pinned minimum commit ${minimumCommit}`,
        { head, reason: lastApplied !== undefined ? 'behind-last-applied' : 'below-floor', ...(lastApplied ? { lastApplied } : {}), ...(minimumCommit ? { minimumCommit } : {}) },
      );
    }
    commits = walk.commits;
    // Through merges the walk can pass the base's own ancestors; they are not new.
    const merges = await Promise.all(commits.map(async (c) => (await reader.read(c)).parents.length > 1));
    if (merges.some(Boolean)) {
      const old = new Set((await walkAncestors(reader, base, new Set(), maxWalk * 4)).commits);
      commits = commits.filter((c) => !old.has(c));
    }
  } else if (base === head) {
    commits = [];
  }

  const judge = async (oid: string, t: CommitTrust, extra: Record<string, unknown> = {}): Promise<VerifiedCommit> => {
    const parents = (await reader.read(oid)).parents;
    const effective = narrowTrust(t, parents[0] ? await repoSigners.signersAt(parents[0]) : null);
    try {
      const v = await verifyCommit({ gitdir: options.gitdir, oid, trust: effective, ...(options.now !== undefined ? { now: options.now } : {}), cache: reader.cache });
      if (v.viaMergeKey) {
        const { mergeKeys: _mergeKeys, ...pinnedOnly }: CommitTrust = t;
        for (const p of parents.slice(1)) await judge(p, pinnedOnly, { rule: 'merge-parent', merge: oid });
      }
      return v;
    } catch (err) {
      throw withData(err, extra);
    }
  };

  for (const c of commits) {
    const { parents } = await reader.read(c);
    const blob = await repoSigners.blobAt(c);
    const parentBlobs = await Promise.all(parents.map((p) => repoSigners.blobAt(p)));
    const changed = parents.length === 0 ? false : parentBlobs.every((b) => b !== blob);
    if (changed) await judge(c, trust, { rule: 'signers-change' });
  }
  if (trust.verify === 'all') for (const c of commits) if (c !== head) await judge(c, trust);
  const verdict = await judge(head, trust);
  return { head, signer: verdict.signer, fingerprint: verdict.fingerprint, format: verdict.format, commits };
}
