import type * as OpenPgp from 'openpgp';

// openpgp.js costs ~15 MB of memory once loaded: load it only when a PGP key or signature is actually
// met, so an agent pinned to SSH signers never pays for it.
let loaded: Promise<typeof OpenPgp> | undefined;
function openpgpModule(): Promise<typeof OpenPgp> {
  loaded ??= import('openpgp');
  return loaded;
}
import { KeyError } from '../errors/index.js';

/** Armored OpenPGP public keys, read once. */
export type PgpKeyring = OpenPgp.PublicKey[];

/**
 * Reads armored public keys (each string may hold several). Throws KeyError naming `source` when a block
 * is not a public key, holds secret material, or when no key results: an empty keyring never means
 * "verification off".
 */
export async function readPgpKeyring(armored: string[], source: string): Promise<PgpKeyring> {
  const keys: PgpKeyring = [];
  for (const [i, text] of armored.entries()) {
    let read: OpenPgp.Key[];
    const openpgp = await openpgpModule();
    try {
      read = await openpgp.readKeys({ armoredKeys: text });
    } catch (err) {
      throw new KeyError(`${source}: key block ${i + 1} is not an OpenPGP public key: ${(err as Error).message}`, { file: source, index: i });
    }
    for (const k of read) {
      if (k.isPrivate()) throw new KeyError(`${source}: key block ${i + 1} holds a private key; give public keys only`, { file: source, index: i });
      keys.push(k);
    }
  }
  if (keys.length === 0) throw new KeyError(`${source} holds no OpenPGP keys; refusing to trust nothing`, { file: source, reason: 'empty' });
  return keys;
}

/** Outcome of one OpenPGP check: the signer, or why it failed. */
export type PgpVerdict =
  | { ok: true; signer: string; fingerprint: string }
  | { ok: false; reason: 'malformed-signature' | 'unknown-key' | 'bad-signature'; keyIds: string[] };

async function describeKey(key: OpenPgp.PublicKey): Promise<string> {
  try {
    return (await key.getPrimaryUser()).user.userID?.userID ?? key.getFingerprint();
  } catch {
    return key.getFingerprint();
  }
}

/**
 * Verifies a detached armored OpenPGP signature over `payload` against `keys` (openpgp.js, in-process).
 * Never throws for bad input: returns `ok: false` with 'malformed-signature' (unreadable armor),
 * 'unknown-key' (no issuer in the keyring) or 'bad-signature' (does not verify, expired or revoked key).
 */
export async function verifyPgpSignature(armoredSignature: string, payload: Uint8Array, keys: PgpKeyring): Promise<PgpVerdict> {
  const openpgp = await openpgpModule();
  let signature: OpenPgp.Signature;
  try {
    signature = await openpgp.readSignature({ armoredSignature });
  } catch {
    return { ok: false, reason: 'malformed-signature', keyIds: [] };
  }
  const keyIds = signature.getSigningKeyIDs().map((id) => id.toHex());
  const candidates = keys.filter((k) => k.getKeys().some((sub) => keyIds.includes(sub.getKeyID().toHex())));
  if (candidates.length === 0) return { ok: false, reason: 'unknown-key', keyIds };
  try {
    const message = await openpgp.createMessage({ binary: payload });
    const result = await openpgp.verify({ message, signature, verificationKeys: candidates, format: 'binary' });
    const first = result.signatures[0];
    if (!first) return { ok: false, reason: 'bad-signature', keyIds };
    await first.verified;
    const signerKey = candidates.find((k) => k.getKeys().some((sub) => sub.getKeyID().equals(first.keyID)))!;
    return { ok: true, signer: await describeKey(signerKey), fingerprint: signerKey.getFingerprint().toUpperCase() };
  } catch {
    return { ok: false, reason: 'bad-signature', keyIds };
  }
}
