import { createHash, verify } from 'node:crypto';
import { SignatureError } from '../errors/index.js';
import { ecdsaFieldSize, type SshPublicKey } from './ssh-public-key.js';
import { mpintToUnsigned, SshReader, sshString, SshWireError } from './ssh-wire.js';

/** The fields of an SSHSIG blob (OpenSSH PROTOCOL.sshsig), not yet verified. */
export interface SshSignature {
  publicKeyBlob: Buffer;
  namespace: string;
  hashAlgorithm: 'sha256' | 'sha512';
  /** Signature algorithm named inside the signature, e.g. `ssh-ed25519`, `rsa-sha2-512`. */
  signatureType: string;
  signatureBytes: Buffer;
}

const BEGIN = '-----BEGIN SSH SIGNATURE-----';
const END = '-----END SSH SIGNATURE-----';
const MAGIC = Buffer.from('SSHSIG');

/**
 * Parses the `-----BEGIN SSH SIGNATURE-----` armor into its fields. Throws SignatureError (data.reason
 * 'malformed-signature') for bad armor or base64, wrong magic or version, an unknown hash algorithm, or
 * trailing bytes. Does not check the namespace or verify anything.
 */
export function parseSshSignature(armored: string): SshSignature {
  const text = armored.trim();
  const fail = (why: string): never => {
    throw new SignatureError(`SSH signature is malformed: ${why}`, { reason: 'malformed-signature' });
  };
  if (!text.startsWith(BEGIN) || !text.endsWith(END)) fail('missing armor lines');
  const b64 = text.slice(BEGIN.length, text.length - END.length).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) fail('armor body is not base64');
  const buf = Buffer.from(b64, 'base64');
  try {
    const r = new SshReader(buf);
    if (!r.raw(6).equals(MAGIC)) fail('bad magic');
    if (r.uint32() !== 1) fail('unsupported version');
    const publicKeyBlob = r.string();
    const namespace = r.text();
    r.string(); // reserved
    const hashAlgorithm = r.text();
    if (hashAlgorithm !== 'sha256' && hashAlgorithm !== 'sha512') fail(`unsupported hash algorithm ${hashAlgorithm}`);
    const sig = new SshReader(r.string());
    r.end();
    const signatureType = sig.text();
    const signatureBytes = sig.string();
    sig.end();
    return { publicKeyBlob, namespace, hashAlgorithm: hashAlgorithm as 'sha256' | 'sha512', signatureType, signatureBytes };
  } catch (err) {
    if (err instanceof SshWireError) fail(err.message);
    throw err;
  }
}

/** The bytes an SSHSIG signature covers: magic, namespace, reserved, hash algorithm and H(message). */
export function sshSignedData(sig: SshSignature, message: Uint8Array): Buffer {
  const digest = createHash(sig.hashAlgorithm).update(message).digest();
  return Buffer.concat([MAGIC, sshString(sig.namespace), sshString(''), sshString(sig.hashAlgorithm), sshString(digest)]);
}

function ecdsaToP1363(sigBytes: Buffer, size: number): Buffer {
  const r = new SshReader(sigBytes);
  const rr = mpintToUnsigned(r.string(), size);
  const ss = mpintToUnsigned(r.string(), size);
  r.end();
  return Buffer.concat([rr, ss]);
}

const ECDSA_HASH: Record<string, string> = {
  'ecdsa-sha2-nistp256': 'sha256',
  'ecdsa-sha2-nistp384': 'sha384',
  'ecdsa-sha2-nistp521': 'sha512',
};

/**
 * True when `sig` is a valid signature by `key` over `message` (namespace and key identity are the
 * caller's checks). The signature algorithm must fit the key: ed25519, ECDSA with its curve's hash, RSA
 * only as rsa-sha2-256/512 (SHA-1 `ssh-rsa` is refused). Malformed signature bytes → false.
 */
export function verifySshSignature(sig: SshSignature, message: Uint8Array, key: SshPublicKey): boolean {
  const data = sshSignedData(sig, message);
  try {
    if (key.type === 'ssh-ed25519') {
      return sig.signatureType === 'ssh-ed25519' && verify(null, data, key.key, sig.signatureBytes);
    }
    if (key.type === 'ssh-rsa') {
      const hash = sig.signatureType === 'rsa-sha2-256' ? 'sha256' : sig.signatureType === 'rsa-sha2-512' ? 'sha512' : null;
      return hash !== null && verify(hash, data, key.key, sig.signatureBytes);
    }
    if (sig.signatureType !== key.type) return false;
    const p1363 = ecdsaToP1363(sig.signatureBytes, ecdsaFieldSize(key.type));
    return verify(ECDSA_HASH[key.type], data, { key: key.key, dsaEncoding: 'ieee-p1363' }, p1363);
  } catch {
    return false;
  }
}
