import { readFile } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import { KeyError } from '../errors/index.js';

/** An armored OpenPGP secret key read for in-process signing. */
export interface PgpSigningKey {
  key: openpgp.PrivateKey;
  source: string;
}

/**
 * Parses an armored OpenPGP secret key (`gpg --export-secret-keys --armor`). Throws KeyError naming `source`
 * when the text is not a private key or the key is protected by a passphrase (in-process signing needs an
 * unprotected key; keep it in the CI secret store instead).
 */
export async function parsePgpSigningKey(armored: string, source: string): Promise<PgpSigningKey> {
  let key: openpgp.PrivateKey;
  try {
    key = await openpgp.readPrivateKey({ armoredKey: armored });
  } catch (err) {
    throw new KeyError(`${source}: not an armored OpenPGP secret key: ${(err as Error).message}`, { file: source, reason: 'malformed' });
  }
  if (!key.isDecrypted()) throw new KeyError(`${source}: the OpenPGP key is protected by a passphrase; in-process signing needs an unprotected key`, { file: source, reason: 'encrypted' });
  return { key, source };
}

/** Reads and parses an armored OpenPGP secret key file; KeyError naming the file when unreadable or unusable. */
export async function loadPgpSigningKey(file: string): Promise<PgpSigningKey> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new KeyError(`cannot read OpenPGP key ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file }, { cause: err });
  }
  return parsePgpSigningKey(text, file);
}

/**
 * Makes a detached, armored binary-mode OpenPGP signature over `payload` (what `git commit -S` with
 * gpg.format=openpgp stores in the gpgsig header). Throws KeyError when the key cannot sign.
 */
export async function signPgpPayload(key: PgpSigningKey, payload: Uint8Array): Promise<string> {
  try {
    const message = await openpgp.createMessage({ binary: payload });
    // openpgp's result type names @openpgp/web-stream-tools, which is not installed, so it reads as `any`: narrow it.
    const signature: unknown = await openpgp.sign({ message, signingKeys: key.key, detached: true, format: 'armored' });
    if (typeof signature !== 'string') throw new TypeError(`armored signature expected, got ${typeof signature}`);
    return signature.endsWith('\n') ? signature : `${signature}\n`;
  } catch (err) {
    throw new KeyError(`${key.source}: cannot sign: ${(err as Error).message}`, { file: key.source }, { cause: err });
  }
}
