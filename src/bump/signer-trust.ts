import { FlotillaError, KeyError } from '../errors/index.js';
import { parseAllowedSigners, type AllowedSigner } from '../trust/allowed-signers.js';
import { checkCommitSignature, type UntrustedReason } from '../trust/commit-signature.js';
import type { CommitSigner } from './commit-signer.js';

/** What to check: the signer, the allowed_signers text at the commit the new one builds on, and when. */
export interface SignerTrustInput {
  signer: CommitSigner;
  /** allowed_signers at `base` (undefined when the file is absent). */
  allowedSigners: string | undefined;
  base: string;
  /** Epoch ms: key validity (valid-after/valid-before) is judged now, as agents do. */
  now: number;
  /** Turn a refusal into a warning (--allow-untrusted-signer). */
  allowUntrusted: boolean;
}

const WHY: Partial<Record<UntrustedReason, string>> = {
  'unknown-key': 'it is not listed there',
  'wrong-namespace': 'it is listed, but not for the namespace "git"',
  'outside-validity': 'it is listed, but not valid now (valid-after/valid-before)',
  'unsupported-key-type': 'it is listed with a key type agents cannot verify',
};

function signersOf(text: string, source: string): AllowedSigner[] {
  try {
    return parseAllowedSigners(text, source);
  } catch (err) {
    // A file of comments only trusts nobody: the signer is then simply not listed.
    if (err instanceof FlotillaError && err.data['reason'] === 'empty') return [];
    throw err;
  }
}

/**
 * Agents judge a commit by the allowed_signers of its parent, so a bump or revert signed by a key that file
 * does not accept would be refused by every agent. This signs a throwaway payload (never written) with the
 * signer and checks it by the agents' own rule (checkCommitSignature, namespace "git", validity now) against
 * allowed_signers at `base`. Returns warnings for what cannot be checked here (no allowed_signers at base;
 * an OpenPGP key, which allowed_signers cannot list: agents trust those only from their pinned
 * pgpKeysFiles). An untrusted SSH key throws KeyError naming its fingerprint and the file, with data
 * { fingerprint, file, base, reason }, or becomes a warning with `allowUntrusted`.
 */
export async function checkSignerAtBase(input: SignerTrustInput): Promise<string[]> {
  const { signer, base } = input;
  const file = `allowed_signers at ${base.slice(0, 12)}`;
  if (signer.format === 'openpgp') {
    return [`OpenPGP key ${signer.fingerprint} was not checked: allowed_signers lists SSH keys only; agents accept the commit only if this key is in their pinned pgpKeysFiles`];
  }
  if (input.allowedSigners === undefined) {
    return [`the deploy repo has no allowed_signers at ${base.slice(0, 12)}, so key ${signer.fingerprint} was not checked; agents judge the commit by their pinned allowedSignersFile alone`];
  }
  const seconds = Math.floor(input.now / 1000);
  const who = `flotilla-probe <probe@invalid> ${seconds} +0000`;
  const payload = `tree ${'0'.repeat(40)}\nparent ${base}\nauthor ${who}\ncommitter ${who}\n\nflotilla signer probe (never written)\n`;
  const signature = await signer.sign(payload);
  const parts = { payload: Buffer.from(payload, 'utf8'), signature, signatureHeaders: 1, committerTime: seconds * 1000 };
  const verdict = await checkCommitSignature(parts, { sshSigners: signersOf(input.allowedSigners, file), pgpKeys: [] }, input.now);
  if (verdict.ok) return [];
  const message = `the signing key ${signer.fingerprint} (${signer.source}) is not trusted by ${file}: ${WHY[verdict.reason] ?? verdict.reason}, so every agent would refuse this commit. Sign with a key listed in allowed_signers, or add this key there in a commit signed by a trusted key first`;
  if (input.allowUntrusted) return [`${message} (committed anyway: --allow-untrusted-signer)`];
  throw new KeyError(`${message}; --allow-untrusted-signer commits anyway`, { fingerprint: signer.fingerprint, file: 'allowed_signers', base, reason: verdict.reason });
}
