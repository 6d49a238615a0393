import { UntrustedCommitError } from '../errors/index.js';
import { readCommitHeader } from '../git/objects.js';
import { splitSignedCommit } from './commit-payload.js';
import { checkCommitSignature } from './commit-signature.js';
import { assertHasKeys, type CommitTrust } from './commit-trust.js';

/** A commit whose signature was accepted. */
export interface VerifiedCommit {
  oid: string;
  /** Principals (SSH) or primary user ID (OpenPGP) of the key that signed; `(unverified)` when skipped. */
  signer: string;
  fingerprint: string;
  format: 'ssh' | 'openpgp' | 'none';
  parents: string[];
  /** True when accepted only through the forge merge key (the caller must check the merged tips). */
  viaMergeKey: boolean;
}

/** What to verify. `now` defaults to Date.now(); null judges key validity at the commit time only. */
export interface VerifyCommitOptions {
  gitdir: string;
  oid: string;
  trust: CommitTrust;
  now?: number | null;
  cache?: object;
}

/**
 * Verifies commit `oid`'s signature (rebuilt from the raw object) against the pinned trust. Throws
 * UntrustedCommitError with data { oid, reason, fingerprint? } where reason is one of UntrustedReason
 * ('unsigned', 'unknown-key', 'bad-signature', 'wrong-namespace', 'outside-validity',
 * 'malformed-signature', 'unsupported-key-type', 'unsupported-format'); KeyError when trust has no keys
 * (and is not insecureSkipVerify); NotFoundError/GitError when the object cannot be read.
 */
export async function verifyCommit(options: VerifyCommitOptions): Promise<VerifiedCommit> {
  const { trust, oid } = options;
  assertHasKeys(trust);
  const header = await readCommitHeader(options.gitdir, oid, options.cache);
  if (trust.insecureSkipVerify) {
    return { oid, signer: '(unverified)', fingerprint: '', format: 'none', parents: header.parents, viaMergeKey: false };
  }
  const parts = splitSignedCommit(header.raw);
  const now = options.now === undefined ? Date.now() : options.now;
  const verdict = await checkCommitSignature(parts, trust, now);
  if (verdict.ok) return { oid, signer: verdict.signer, fingerprint: verdict.fingerprint, format: verdict.format, parents: header.parents, viaMergeKey: false };
  if (trust.mergeKeys && header.parents.length > 1 && verdict.reason === 'unknown-key') {
    const merge = await checkCommitSignature(parts, trust.mergeKeys, now);
    if (merge.ok) return { oid, signer: merge.signer, fingerprint: merge.fingerprint, format: merge.format, parents: header.parents, viaMergeKey: true };
  }
  throw new UntrustedCommitError(`commit ${oid} is not trusted: ${verdict.reason}`, {
    oid,
    reason: verdict.reason,
    ...(verdict.format ? { format: verdict.format } : {}),
    ...(verdict.fingerprint ? { fingerprint: verdict.fingerprint } : {}),
  });
}
