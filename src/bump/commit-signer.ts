import { UsageError } from '../errors/index.js';
import { loadPgpSigningKey, signPgpPayload } from '../trust/sign-openpgp.js';
import { loadSshSigningKey, signSshPayload } from '../trust/sign-ssh.js';
import { sshFingerprint } from '../trust/ssh-public-key.js';

/** Signs commit payloads in-process; plugs into isomorphic-git's `onSign`. */
export interface CommitSigner {
  format: 'ssh' | 'openpgp';
  /** The key file, for messages. */
  source: string;
  /** The public key's fingerprint as agents report it: SHA256:… (ssh-keygen -l) or the OpenPGP fingerprint. */
  fingerprint: string;
  /** Returns the armored signature over the exact payload bytes (UTF-8 of `payload`). */
  sign(payload: string): Promise<string>;
}

/**
 * Loads the signer named by `--sign-key FILE` (OpenSSH private key) or `--gpg-key FILE` (armored OpenPGP
 * secret key). Exactly one is required: an unsigned deploy-repo commit would be refused by every agent.
 * Throws UsageError for none or both, KeyError for an unreadable, encrypted or unsupported key.
 */
export async function loadCommitSigner(o: { sshKeyFile?: string | undefined; gpgKeyFile?: string | undefined }): Promise<CommitSigner> {
  if (o.sshKeyFile !== undefined && o.gpgKeyFile !== undefined) throw new UsageError('give --sign-key or --gpg-key, not both');
  if (o.sshKeyFile !== undefined) {
    const key = await loadSshSigningKey(o.sshKeyFile);
    return { format: 'ssh', source: o.sshKeyFile, fingerprint: sshFingerprint(key.publicKeyBlob), sign: (payload) => Promise.resolve(signSshPayload(key, Buffer.from(payload, 'utf8'))) };
  }
  if (o.gpgKeyFile !== undefined) {
    const key = await loadPgpSigningKey(o.gpgKeyFile);
    return { format: 'openpgp', source: o.gpgKeyFile, fingerprint: key.key.getFingerprint().toUpperCase(), sign: (payload) => signPgpPayload(key, Buffer.from(payload, 'utf8')) };
  }
  throw new UsageError('a signing key is required: --sign-key FILE (OpenSSH) or --gpg-key FILE (OpenPGP); agents refuse unsigned commits');
}
