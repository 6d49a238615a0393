import { FlotillaError } from '../errors/index.js';
import { parseAllowedSigners } from '../trust/allowed-signers.js';
import type { CommitTrust } from '../trust/commit-trust.js';
import { verifyCommit, type VerifiedCommit } from '../trust/commit-verify.js';
import { verifyAdvance } from '../trust/repo-history.js';
import type { DeclarationsRead } from './read-declarations.js';

/**
 * Whose keys judge a commit.
 * - `pinned`: keys the caller pinned. Without `history`, the one commit's signature. With `history`, the
 *   agent's rules (trust/repo-history.ts): descent from the last applied commit or the floor, signer changes
 *   signed by keys trusted before them, the repo's allowed_signers narrowing the pinned keys.
 * - `self`: the allowed_signers in the commit's own tree (`read`), verify 'head': the repo vouching for
 *   itself. A local check for authors; an agent never trusts this.
 */
export type TrustPolicy =
  | { kind: 'pinned'; trust: CommitTrust; history?: { lastApplied?: string; minimumCommit?: string } }
  | { kind: 'self'; read: DeclarationsRead };

/** The verdict as data; a refusal keeps its typed error (UntrustedCommitError, RollbackError, KeyError…). */
export type Verification =
  | { ok: true; signer: string; fingerprint: string; format: VerifiedCommit['format'] }
  | { ok: false; error: FlotillaError };

function selfTrust(read: DeclarationsRead): CommitTrust {
  const bytes = read.files.get('allowed_signers');
  const text = bytes === undefined ? '' : Buffer.from(bytes).toString('utf8');
  return { sshSigners: parseAllowedSigners(text, 'allowed_signers'), pgpKeys: [], verify: 'head' };
}

/** Throws the typed refusal; returns who signed. */
async function judge(gitdir: string, oid: string, policy: TrustPolicy): Promise<Pick<VerifiedCommit, 'signer' | 'fingerprint' | 'format'>> {
  if (policy.kind === 'self') return verifyCommit({ gitdir, oid, trust: selfTrust(policy.read) });
  const { trust, history } = policy;
  if (history === undefined) return verifyCommit({ gitdir, oid, trust });
  return verifyAdvance({
    gitdir, head: oid, trust,
    ...(history.lastApplied !== undefined ? { lastApplied: history.lastApplied } : {}),
    ...(history.minimumCommit !== undefined ? { minimumCommit: history.minimumCommit } : {}),
  });
}

/**
 * Verifies commit `oid` under `policy`. Every refusal is data: { ok: false, error } with the typed error
 * (UntrustedCommitError, RollbackError, KeyError for no or broken keys, NotFoundError/GitError for missing
 * objects, UnsafeTreeError for a broken allowed_signers). Throws only what is not a FlotillaError (a bug).
 */
export async function verifyAt(gitdir: string, oid: string, policy: TrustPolicy): Promise<Verification> {
  try {
    const v = await judge(gitdir, oid, policy);
    return { ok: true, signer: v.signer, fingerprint: v.fingerprint, format: v.format };
  } catch (err) {
    if (!(err instanceof FlotillaError)) throw err;
    return { ok: false, error: err };
  }
}
