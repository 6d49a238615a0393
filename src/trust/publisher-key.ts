import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { KeyError } from '../errors/index.js';
import { checkName } from '../store/keys.js';

/** A publisher's public key: its name (one store key segment) and the raw 32-byte ed25519 key. */
export interface PublicKey {
  name: string;
  raw: Buffer;
  key: KeyObject;
}

/** A publisher's secret key, as loaded from a `NAME:base64` file. Never log it. */
export interface SecretKey {
  name: string;
  key: KeyObject;
  publicKey: PublicKey;
}

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function splitNamed(text: string, what: string): { name: string; bytes: Buffer } {
  const t = text.trim();
  const i = t.indexOf(':');
  if (i <= 0) throw new KeyError(`${what} must be NAME:base64`, { what });
  const name = t.slice(0, i);
  try {
    checkName(name, 'key name');
  } catch {
    throw new KeyError(`${what}: key name ${JSON.stringify(name.slice(0, 80))} must be 1-128 of A-Z a-z 0-9 . _ -`, { what });
  }
  const b64 = t.slice(i + 1);
  const bytes = Buffer.from(b64, 'base64');
  if (b64.length === 0 || bytes.toString('base64') !== b64) throw new KeyError(`${what} ${name}: not canonical base64`, { what, name });
  return { name, bytes };
}

function publicFromRaw(name: string, raw: Buffer): PublicKey {
  return { name, raw, key: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }) };
}

/** Parses `NAME:base64(32-byte ed25519 public key)` (Nix's convention). Throws KeyError. */
export function parsePublicKey(text: string): PublicKey {
  const { name, bytes } = splitNamed(text, 'public key');
  if (bytes.length !== 32) throw new KeyError(`public key ${name}: expected 32 bytes, got ${bytes.length}`, { name });
  return publicFromRaw(name, bytes);
}

/** Formats a public key as `NAME:base64`. */
export function formatPublicKey(k: PublicKey): string {
  return `${k.name}:${k.raw.toString('base64')}`;
}

/**
 * Parses a secret key `NAME:base64(seed[32] || public[32])` (Nix's 64-byte layout, what keygen writes). A
 * 32-byte value is refused as a public key: taken as a seed it would sign with a different key under the
 * same name. A key whose public half does not match its seed is refused. Throws KeyError (data.reason
 * 'public-key' for a public key).
 */
export function parseSecretKey(text: string): SecretKey {
  const { name, bytes } = splitNamed(text, 'secret key');
  if (bytes.length === 32) throw new KeyError(`${name}: this is a public key (NAME:base64 of 32 bytes), not a secret key`, { name, reason: 'public-key' });
  if (bytes.length !== 64) throw new KeyError(`secret key ${name}: expected 64 bytes, got ${bytes.length}`, { name });
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, bytes.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
  const raw = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
  if (!raw.equals(bytes.subarray(32))) throw new KeyError(`secret key ${name}: public half does not match`, { name });
  return { name, key, publicKey: publicFromRaw(name, Buffer.from(raw)) };
}

/**
 * Reads and parses a secret key file. An empty, unreadable or malformed file is a KeyError naming the file;
 * a public key file (keygen's FILE.pub) is refused naming the secret file to pass instead.
 */
export async function loadSecretKey(file: string): Promise<SecretKey> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new KeyError(`cannot read secret key file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { file });
  }
  if (text.trim() === '') throw new KeyError(`secret key file ${file} is empty`, { file });
  try {
    return parseSecretKey(text);
  } catch (err) {
    if (err instanceof KeyError && err.data['reason'] === 'public-key') {
      const pass = file.endsWith('.pub') ? `pass ${file.slice(0, -'.pub'.length)} instead` : 'pass the secret key file flotilla keygen wrote (NAME.secret, beside NAME.secret.pub)';
      throw new KeyError(`${file} looks like a public key (NAME:base64 of 32 bytes), not a secret key; ${pass}`, { file, reason: 'public-key' });
    }
    throw new KeyError(`secret key file ${file}: ${(err as Error).message}`, { file });
  }
}

/** Generates a fresh ed25519 key pair; returns the `NAME:base64` texts (secret in Nix's 64-byte layout). */
export function generateKeyPair(name: string): { secret: string; public: string } {
  checkName(name, 'key name');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
  return { secret: `${name}:${Buffer.concat([seed, raw]).toString('base64')}`, public: `${name}:${raw.toString('base64')}` };
}

/** Writes a secret key file with mode 0600, refusing to overwrite an existing file. Throws KeyError. */
export async function writeSecretKeyFile(file: string, secret: string): Promise<void> {
  let fh;
  try {
    fh = await open(file, 'wx', 0o600);
  } catch (err) {
    throw new KeyError(`cannot create ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'} (existing key files are never overwritten)`, { file });
  }
  try {
    await fh.writeFile(`${secret}\n`);
    await fh.chmod(0o600);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
