import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { mpintToUnsigned, SshReader, SshWireError } from './ssh-wire.js';

/** SSH public key types we verify in-process. */
export type SshKeyType = 'ssh-ed25519' | 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521' | 'ssh-rsa';

/** A parsed SSH public key: its type, wire blob (for exact comparison), node KeyObject and fingerprint. */
export interface SshPublicKey {
  type: SshKeyType;
  blob: Buffer;
  key: KeyObject;
  /** `SHA256:…` as ssh-keygen -l prints it. */
  fingerprint: string;
}

const CURVES: Record<string, { crv: string; name: string; size: number }> = {
  'ecdsa-sha2-nistp256': { crv: 'P-256', name: 'nistp256', size: 32 },
  'ecdsa-sha2-nistp384': { crv: 'P-384', name: 'nistp384', size: 48 },
  'ecdsa-sha2-nistp521': { crv: 'P-521', name: 'nistp521', size: 66 },
};

/** Bytes of a field per ECDSA key type, for converting signatures to IEEE P1363 form. */
export function ecdsaFieldSize(type: SshKeyType): number {
  return CURVES[type]?.size ?? 0;
}

/** True when `type` is a key type parseSshPublicKey accepts. */
export function isSupportedSshKeyType(type: string): type is SshKeyType {
  return type === 'ssh-ed25519' || type === 'ssh-rsa' || type in CURVES;
}

/** SHA256 fingerprint of a key blob in ssh-keygen's format. */
export function sshFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

const b64url = (b: Buffer): string => b.toString('base64url');

function toKeyObject(type: SshKeyType, r: SshReader): KeyObject {
  if (type === 'ssh-ed25519') {
    const x = r.string();
    if (x.length !== 32) throw new SshWireError('ed25519 key is not 32 bytes');
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(x) }, format: 'jwk' });
  }
  if (type === 'ssh-rsa') {
    const e = mpintToUnsigned(r.string());
    const n = mpintToUnsigned(r.string());
    if (n.length * 8 < 2048) throw new SshWireError('RSA keys under 2048 bits are refused');
    return createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' });
  }
  const curve = CURVES[type]!;
  if (r.text() !== curve.name) throw new SshWireError('curve name does not match key type');
  const q = r.string();
  if (q.length !== 1 + 2 * curve.size || q[0] !== 4) throw new SshWireError('ECDSA point is not uncompressed');
  const x = q.subarray(1, 1 + curve.size);
  const y = q.subarray(1 + curve.size);
  return createPublicKey({ key: { kty: 'EC', crv: curve.crv, x: b64url(x), y: b64url(y) }, format: 'jwk' });
}

/**
 * Parses an SSH public key blob (wire format). Throws SshWireError for unsupported types (certificates,
 * security keys, DSA), weak RSA, malformed or trailing bytes, or a point/key node:crypto rejects.
 */
export function parseSshPublicKey(blob: Buffer): SshPublicKey {
  const r = new SshReader(blob);
  const type = r.text();
  if (!isSupportedSshKeyType(type)) throw new SshWireError(`unsupported SSH key type ${type}`);
  let key: KeyObject;
  try {
    key = toKeyObject(type, r);
  } catch (err) {
    if (err instanceof SshWireError) throw err;
    throw new SshWireError(`invalid ${type} key: ${(err as Error).message}`);
  }
  r.end();
  return { type, blob, key, fingerprint: sshFingerprint(blob) };
}
