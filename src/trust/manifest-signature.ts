import { sign, verify } from 'node:crypto';
import type { Digest } from '../store/digest.js';
import type { PublicKey, SecretKey } from './publisher-key.js';

/** The exact message a publisher signs: it binds the manifest digest and its byte size. */
export function signatureMessage(digest: Digest, size: number): Buffer {
  return Buffer.from(`flotilla-manifest-v1;${digest};${size}`, 'utf8');
}

/** Signs a manifest; returns the bytes stored at signatures/sha256/<hex>/<key name> (base64 text). */
export function signManifest(key: SecretKey, digest: Digest, size: number): Buffer {
  return Buffer.from(sign(null, signatureMessage(digest, size), key.key).toString('base64'), 'utf8');
}

/** True when `stored` (the signature object's bytes) is a valid signature by `key` over (digest, size). Never throws. */
export function verifyManifestSignature(key: PublicKey, digest: Digest, size: number, stored: Buffer): boolean {
  const text = stored.toString('utf8').trim();
  const sig = Buffer.from(text, 'base64');
  if (sig.length !== 64 || sig.toString('base64') !== text) return false;
  try {
    return verify(null, signatureMessage(digest, size), key.key, sig);
  } catch {
    return false;
  }
}
