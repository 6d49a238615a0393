import { FlotillaError, UntrustedCommitError } from '../errors/index.js';
import { listChangedSets } from '../git/changed-sets.js';
import { parseCommitInfo } from '../git/commit-info.js';
import { CommitReader } from '../git/commit-graph.js';
import type { CommitTrust } from './commit-trust.js';
import { verifyCommit } from './commit-verify.js';
import { narrowTrust, RepoSignersReader } from './repo-signers.js';

/** One line of `flotilla log`. */
export interface CommitView {
  oid: string;
  parents: string[];
  author: string;
  date: string;
  subject: string;
  verified: boolean;
  signer?: string;
  fingerprint?: string;
  format?: string;
  /** Why it is not verified: an UntrustedReason, or an error code (KeyError, UnsafeTreeError…). */
  reason?: string;
  setsChanged: string[];
}

/**
 * The `count` most recent commits reachable from `head`, newest committer time first (as git log), each
 * verified against `trust` narrowed by the repo's allowed_signers at its parent (the agent's rule, with
 * key validity judged at commit time), or marked `reason: 'no-trust'` when `trust` is null. Never throws
 * for a bad commit: the failure lands in `reason`; throws only when `head` itself cannot be read.
 */
export async function describeHistory(gitdir: string, head: string, count: number, trust: CommitTrust | null): Promise<CommitView[]> {
  const reader = new CommitReader(gitdir);
  const signers = new RepoSignersReader(reader);
  const out: CommitView[] = [];
  const frontier = new Map<string, number>([[head, parseCommitInfo((await reader.read(head)).raw).committerTime]]);
  const seen = new Set([head]);
  while (out.length < count && frontier.size > 0) {
    const [oid] = [...frontier.entries()].reduce((a, b) => (b[1] > a[1] ? b : a));
    frontier.delete(oid);
    const c = await reader.read(oid);
    const info = parseCommitInfo(c.raw);
    const view: CommitView = { oid, parents: c.parents, author: info.author, date: new Date(info.committerTime * 1000).toISOString(), subject: info.subject, verified: false, setsChanged: [] };
    try {
      const parentTree = c.parents[0] ? (await reader.read(c.parents[0])).tree : null;
      view.setsChanged = await listChangedSets(gitdir, c.tree, parentTree, reader.cache);
    } catch (err) {
      if (!(err instanceof FlotillaError)) throw err;
      view.reason = err.code;
    }
    if (trust === null) view.reason ??= 'no-trust';
    else {
      try {
        const effective = c.parents[0] ? narrowTrust(trust, await signers.signersAt(c.parents[0])) : trust;
        const v = await verifyCommit({ gitdir, oid, trust: effective, now: null, cache: reader.cache });
        Object.assign(view, { verified: true, signer: v.signer, fingerprint: v.fingerprint, format: v.format });
      } catch (err) {
        if (!(err instanceof FlotillaError)) throw err;
        view.reason = err instanceof UntrustedCommitError ? String(err.data.reason) : err.code;
      }
    }
    out.push(view);
    for (const p of c.parents) {
      if (seen.has(p)) continue;
      seen.add(p);
      const parent = await reader.read(p).catch(() => null);
      if (parent) frontier.set(p, parseCommitInfo(parent.raw).committerTime);
    }
  }
  return out;
}
