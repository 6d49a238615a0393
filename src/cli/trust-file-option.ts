import { readFile } from 'node:fs/promises';
import type { DeclarationsRead, TrustPolicy } from '../deploy-repo/index.js';
import { loadCommitTrust } from '../trust/commit-trust.js';

/**
 * Trust for a commit's signature check: the pinned `--trust-file` when given (allowed_signers, or an
 * armored OpenPGP key), else the repo's own allowed_signers at the commit. `source` says which, for output.
 * KeyError when the file cannot be read or parsed.
 */
export async function trustPolicyFor(trustFile: string | undefined, read: DeclarationsRead, oid: string): Promise<{ policy: TrustPolicy; source: string }> {
  if (trustFile !== undefined) {
    const head = (await readFile(trustFile, 'utf8').catch(() => '')).trimStart();
    const pgp = head.startsWith('-----BEGIN PGP');
    return { policy: { kind: 'pinned', trust: await loadCommitTrust(pgp ? { pgpKeyFiles: [trustFile] } : { allowedSignersFile: trustFile }) }, source: trustFile };
  }
  return { policy: { kind: 'self', read }, source: `allowed_signers at ${oid.slice(0, 12)} (the repo vouching for itself; pin with --trust-file)` };
}
