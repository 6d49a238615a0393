import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { link, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KeyError } from '../errors/index.js';
import { historyKeyFile } from '../generations/index.js';
import { formatPublicKey, parsePublicKey, parseSecretKey, type SecretKey } from '../trust/publisher-key.js';
import { fsyncDir, tempNameFor } from '../util/atomic-write.js';

const SPKI_PREFIX_LENGTH = 12;

/** The machine's deployment-log key: signs records; `publicKey` (`NAME:base64`) is listed in its status. */
export interface MachineKey {
  secret: SecretKey;
  publicKey: string;
}

function fromText(text: string, file: string): MachineKey {
  let secret: SecretKey;
  try {
    secret = parseSecretKey(text);
  } catch (err) {
    throw new KeyError(`the machine's history key ${file} is unusable (${(err as Error).message}); move it away and the agent makes a new one (older records then fail verification)`, { file });
  }
  return { secret, publicKey: formatPublicKey(secret.publicKey) };
}

function newKeyText(name: string): string {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX_LENGTH);
  return `${name}:${Buffer.concat([seed, raw]).toString('base64')}\n`;
}

/**
 * Loads the machine's history key from the state dir, making it on first use: written to a temp file
 * (0600, fsynced) and linked into place, so it appears whole or not at all and a key that exists is never
 * replaced (two first starts racing keep one key). `name` is the machine name, the key's label.
 * Fails with KeyError for an unreadable or malformed key file, and with disk errors.
 */
export async function ensureMachineKey(stateDir: string, name: string): Promise<MachineKey> {
  const file = historyKeyFile(stateDir);
  const existing = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new KeyError(`cannot read the machine's history key ${file}: ${err.code ?? err.message}`, { file });
  });
  if (existing !== null) return fromText(existing, file);
  const tmp = tempNameFor(file);
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(newKeyText(name));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await link(tmp, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(tmp, { force: true });
  }
  await fsyncDir(dirname(file));
  return fromText(await readFile(file, 'utf8'), file);
}

/** Signs `bytes` with the machine key: base64 ed25519. */
export function signWith(key: MachineKey, bytes: Buffer): string {
  return sign(null, bytes, key.secret.key).toString('base64');
}

/** True when `signature` (base64) is a valid ed25519 signature of `bytes` by `publicKey` (`NAME:base64`); false for a malformed key. */
export function verifySignature(publicKey: string, bytes: Buffer, signature: string): boolean {
  try {
    return verify(null, bytes, parsePublicKey(publicKey).key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
