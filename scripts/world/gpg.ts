import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from './tools.js';

/** A throwaway OpenPGP key in its own GNUPGHOME. */
export interface GpgKey {
  name: string;
  gnupgHome: string;
  /** Full fingerprint (40 hex), usable as git's user.signingkey. */
  fingerprint: string;
  email: string;
  armoredPublicKey: string;
}

/** Makes an ed25519 OpenPGP key with no passphrase in a new GNUPGHOME under `dir`. Fails if gpg fails. */
export async function makeGpgKey(dir: string, name: string): Promise<GpgKey> {
  const gnupgHome = join(dir, `gnupg-${name}`);
  await mkdir(gnupgHome, { recursive: true, mode: 0o700 });
  const env = { GNUPGHOME: gnupgHome };
  const email = `${name}@example.test`;
  await runTool('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key',
    `${name} <${email}>`, 'ed25519', 'sign', 'never'], { env });
  const listing = await runTool('gpg', ['--batch', '--with-colons', '--list-keys', email], { env });
  const fpr = listing.split('\n').find((l) => l.startsWith('fpr:'))?.split(':')[9];
  if (!fpr) throw new Error(`gpg made no key for ${email}`);
  const armoredPublicKey = await runTool('gpg', ['--batch', '--armor', '--export', fpr], { env });
  return { name, gnupgHome, fingerprint: fpr, email, armoredPublicKey };
}

/** Stops the gpg-agent of a throwaway GNUPGHOME (so temp dir removal does not race with it). */
export async function stopGpgAgent(key: GpgKey): Promise<void> {
  await runTool('gpgconf', ['--kill', 'gpg-agent'], { env: { GNUPGHOME: key.gnupgHome } }).catch(() => undefined);
}
