import * as fs from 'node:fs';
import git from 'isomorphic-git';
import { FlotillaError } from '../errors/index.js';
import { CommitReader, walkAncestors } from '../git/commit-graph.js';
import { parseAllowedSigners } from '../trust/allowed-signers.js';
import type { CommitTrust } from '../trust/commit-trust.js';
import { verifyCommit } from '../trust/commit-verify.js';
import type { CommitFact } from './types.js';

const MAX_WALK = 10_000;

/** The commits in BASE..HEAD (reachable from HEAD, not from BASE), newest first by walk order. */
export async function commitsBetween(gitdir: string, base: string, head: string): Promise<string[]> {
  const reader = new CommitReader(gitdir);
  const ancestors = new Set((await walkAncestors(reader, base, new Set(), MAX_WALK)).commits);
  return (await walkAncestors(reader, head, ancestors, MAX_WALK)).commits;
}

/**
 * The trust for a PR's commits: the pinned `trust` when given, else the allowed_signers of the BASE commit
 * (never HEAD's: a change must not vouch for itself). Returns an error string when BASE has no signers.
 */
export function commitTrustFor(trust: CommitTrust | undefined, trustSource: string | undefined, baseSigners: string | undefined, base: string): { trust?: CommitTrust; source: string; error?: string } {
  if (trust) return { trust, source: trustSource ?? '--trust-file' };
  const source = `allowed_signers at BASE ${base.slice(0, 12)}`;
  try {
    const sshSigners = parseAllowedSigners(baseSigners ?? '', 'allowed_signers');
    if (sshSigners.length > 0) return { trust: { sshSigners, pgpKeys: [], verify: 'all' }, source };
  } catch (err) {
    return { source, error: `allowed_signers at BASE is unusable: ${(err as Error).message}` };
  }
  return { source, error: `no allowed_signers at BASE ${base.slice(0, 12)} and no --trust-file: commit signatures cannot be checked` };
}

/** Verifies every commit against `trust`, key validity judged at `now` (epoch ms) as agents do; never throws for a bad one. */
export async function checkCommits(gitdir: string, oids: string[], trust: CommitTrust | undefined, now: number): Promise<CommitFact[]> {
  const out: CommitFact[] = [];
  for (const oid of oids) {
    const { commit } = await git.readCommit({ fs, gitdir, oid });
    const subject = commit.message.split('\n')[0] ?? '';
    if (!trust) {
      out.push({ oid, subject, ok: false, reason: 'not checked: no trusted signers' });
      continue;
    }
    try {
      const v = await verifyCommit({ gitdir, oid, trust, now });
      out.push({ oid, subject, ok: true, signer: v.signer, format: v.format });
    } catch (err) {
      if (!(err instanceof FlotillaError)) throw err;
      const reason = typeof err.data['reason'] === 'string' ? err.data['reason'] : err.message;
      out.push({ oid, subject, ok: false, reason });
    }
  }
  return out;
}
