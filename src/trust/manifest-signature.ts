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

/** The raw 64-byte ed25519 signature a signature object holds, or undefined when it is not one (garbage). */
export function decodeManifestSignature(stored: Buffer): Buffer | undefined {
  const text = stored.toString('utf8').trim();
  const sig = Buffer.from(text, 'base64');
  return sig.length === 64 && sig.toString('base64') === text ? sig : undefined;
}

/** True when `stored` (the signature object's bytes) is a valid signature by `key` over (digest, size). Never throws. */
export function verifyManifestSignature(key: PublicKey, digest: Digest, size: number, stored: Buffer): boolean {
  const sig = decodeManifestSignature(stored);
  if (sig === undefined) return false;
  try {
    return verify(null, signatureMessage(digest, size), key.key, sig);
  } catch {
    return false;
  }
}
