import type { AllowedSigner } from './allowed-signers.js';
import type { SignedCommitParts } from './commit-payload.js';
import type { SignerKeys } from './commit-trust.js';
import { verifyPgpSignature } from './openpgp-verify.js';
import { matchSshPatternList } from './ssh-pattern.js';
import { parseSshSignature, verifySshSignature } from './sshsig.js';
import { SignatureError } from '../errors/index.js';

/** Why a commit signature was not accepted (stable strings; they land in UntrustedCommitError.data.reason). */
export type UntrustedReason =
  | 'unsigned'
  | 'unknown-key'
  | 'bad-signature'
  | 'wrong-namespace'
  | 'outside-validity'
  | 'malformed-signature'
  | 'unsupported-key-type'
  | 'unsupported-format';

/** The verdict on one commit signature against one key set. */
export type SignatureVerdict =
  | { ok: true; format: 'ssh' | 'openpgp'; signer: string; fingerprint: string }
  | { ok: false; format?: 'ssh' | 'openpgp'; reason: UntrustedReason; fingerprint?: string };

const NAMESPACE = 'git';

const inWindow = (s: AllowedSigner, t: number): boolean =>
  (s.validAfter === undefined || t >= s.validAfter) && (s.validBefore === undefined || t <= s.validBefore);

function checkSsh(parts: SignedCommitParts, signers: AllowedSigner[], now: number | null): SignatureVerdict {
  let sig;
  try {
    sig = parseSshSignature(parts.signature!);
  } catch (err) {
    if (err instanceof SignatureError) return { ok: false, format: 'ssh', reason: 'malformed-signature' };
    throw err;
  }
  const fail = (reason: UntrustedReason, fingerprint?: string): SignatureVerdict => ({ ok: false, format: 'ssh', reason, ...(fingerprint ? { fingerprint } : {}) });
  if (sig.namespace !== NAMESPACE) return fail('wrong-namespace');
  const same = signers.filter((s) => !s.certAuthority && s.keyBlob.equals(sig.publicKeyBlob));
  if (same.length === 0) return fail('unknown-key');
  const usable = same.filter((s) => s.key !== undefined);
  const fingerprint = usable[0]?.key?.fingerprint;
  if (usable.length === 0) return fail('unsupported-key-type');
  const inNamespace = usable.filter((s) => s.namespaces === undefined || matchSshPatternList(NAMESPACE, s.namespaces));
  if (inNamespace.length === 0) return fail('wrong-namespace', fingerprint);
  // Judged at the committer time (as git does) and, unless the caller opts out, at the present too:
  // a retired key cannot sign a new HEAD by back-dating it.
  const commitTime = parts.committerTime ?? 0;
  const valid = inNamespace.filter((s) => inWindow(s, commitTime) && (now === null || inWindow(s, now)));
  if (valid.length === 0) return fail('outside-validity', fingerprint);
  const chosen = valid[0]!;
  if (!verifySshSignature(sig, parts.payload, chosen.key!)) return fail('bad-signature', fingerprint);
  return { ok: true, format: 'ssh', signer: chosen.principals.join(','), fingerprint: chosen.key!.fingerprint };
}

/**
 * Checks the signature of a split commit against `keys`: SSH (SSHSIG, namespace `git`) or OpenPGP by its
 * armor. `now` (epoch ms) is also checked against valid-after/valid-before; null checks the commit time
 * only (for showing history). Returns a verdict; never throws for bad signatures.
 */
export async function checkCommitSignature(parts: SignedCommitParts, keys: SignerKeys, now: number | null): Promise<SignatureVerdict> {
  if (parts.signature === undefined) return { ok: false, reason: 'unsigned' };
  if (parts.signatureHeaders > 1) return { ok: false, reason: 'malformed-signature' };
  const sig = parts.signature;
  if (sig.startsWith('-----BEGIN SSH SIGNATURE-----')) return checkSsh(parts, keys.sshSigners, now);
  if (sig.startsWith('-----BEGIN PGP SIGNATURE-----')) {
    const v = await verifyPgpSignature(sig, parts.payload, keys.pgpKeys);
    if (v.ok) return { ok: true, format: 'openpgp', signer: v.signer, fingerprint: v.fingerprint };
    return { ok: false, format: 'openpgp', reason: v.reason, ...(v.keyIds[0] ? { fingerprint: v.keyIds[0] } : {}) };
  }
  return { ok: false, reason: 'unsupported-format' };
}
