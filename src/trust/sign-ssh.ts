import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { KeyError } from '../errors/index.js';
import { SshReader, sshString, SshWireError } from './ssh-wire.js';

/** An SSH private key read in-process: its public blob (as allowed_signers names it) and a node KeyObject. */
export interface SshSigningKey {
  type: 'ssh-ed25519' | 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521' | 'ssh-rsa';
  publicKeyBlob: Buffer;
  privateKey: KeyObject;
  /** Where it came from, for messages (never the key material). */
  source: string;
}

const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';
const AUTH_MAGIC = Buffer.from('openssh-key-v1\0');
const SIG_MAGIC = Buffer.from('SSHSIG');
const CURVES: Record<string, { crv: string; size: number; hash: string }> = {
  'ecdsa-sha2-nistp256': { crv: 'P-256', size: 32, hash: 'sha256' },
  'ecdsa-sha2-nistp384': { crv: 'P-384', size: 48, hash: 'sha384' },
  'ecdsa-sha2-nistp521': { crv: 'P-521', size: 66, hash: 'sha512' },
};

const b64url = (b: Buffer): string => b.toString('base64url');

function unsigned(mpint: Buffer, size = 0): Buffer {
  let v = mpint;
  while (v.length > 1 && v[0] === 0) v = v.subarray(1);
  return size > v.length ? Buffer.concat([Buffer.alloc(size - v.length), v]) : v;
}

const toBig = (b: Buffer): bigint => BigInt(`0x${b.toString('hex') || '0'}`);
function fromBig(n: bigint): Buffer {
  const hex = n.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}

/** Encodes unsigned big-endian bytes as an SSH mpint string (a leading zero when the high bit is set). */
function mpint(bytes: Buffer): Buffer {
  const v = unsigned(bytes);
  return sshString(v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

function privateKeyOf(type: SshSigningKey['type'], r: SshReader): KeyObject {
  if (type === 'ssh-ed25519') {
    const pub = r.string();
    const priv = r.string();
    if (pub.length !== 32 || priv.length !== 64) throw new SshWireError('ed25519 key has the wrong length');
    return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(pub), d: b64url(priv.subarray(0, 32)) }, format: 'jwk' });
  }
  if (type === 'ssh-rsa') {
    const [n, e, d, iqmp, p, q] = [r.string(), r.string(), r.string(), r.string(), r.string(), r.string()].map((b) => unsigned(b));
    const [dn, pn, qn] = [toBig(d!), toBig(p!), toBig(q!)];
    return createPrivateKey({
      key: { kty: 'RSA', n: b64url(n!), e: b64url(e!), d: b64url(d!), p: b64url(p!), q: b64url(q!), dp: b64url(fromBig(dn % (pn - 1n))), dq: b64url(fromBig(dn % (qn - 1n))), qi: b64url(iqmp!) },
      format: 'jwk',
    });
  }
  const curve = CURVES[type]!;
  r.string(); // curve name, implied by the type
  const point = r.string();
  const d = unsigned(r.string(), curve.size);
  if (point.length !== 1 + 2 * curve.size || point[0] !== 4) throw new SshWireError('ECDSA point is not uncompressed');
  const x = point.subarray(1, 1 + curve.size);
  const y = point.subarray(1 + curve.size);
  return createPrivateKey({ key: { kty: 'EC', crv: curve.crv, x: b64url(x), y: b64url(y), d: b64url(d) }, format: 'jwk' });
}

/**
 * Parses an unencrypted OpenSSH private key (`-----BEGIN OPENSSH PRIVATE KEY-----`, openssh-key-v1) holding
 * one ed25519, ECDSA (P-256/384/521) or RSA key. Throws KeyError naming `source` for other armor, an
 * encrypted key (decrypt it with `ssh-keygen -p` or use ssh-agent-free CI keys), several keys, an
 * unsupported type or malformed bytes. The message never contains key material.
 */
export function parseSshPrivateKey(text: string, source: string): SshSigningKey {
  const t = text.trim();
  const fail = (why: string, reason = 'malformed'): never => {
    throw new KeyError(`${source}: ${why}`, { file: source, reason });
  };
  if (!t.startsWith(BEGIN) || !t.endsWith(END)) fail('not an OpenSSH private key (expected -----BEGIN OPENSSH PRIVATE KEY-----)');
  const buf = Buffer.from(t.slice(BEGIN.length, t.length - END.length).replace(/\s+/g, ''), 'base64');
  try {
    if (!buf.subarray(0, AUTH_MAGIC.length).equals(AUTH_MAGIC)) fail('bad openssh-key-v1 magic');
    const r = new SshReader(buf.subarray(AUTH_MAGIC.length));
    const cipher = r.text();
    const kdf = r.text();
    r.string(); // kdf options
    if (cipher !== 'none' || kdf !== 'none') fail('the key is encrypted with a passphrase; in-process signing needs an unencrypted key', 'encrypted');
    if (r.uint32() !== 1) fail('the file must hold exactly one key');
    const publicKeyBlob = r.string();
    const priv = new SshReader(r.string());
    if (priv.uint32() !== priv.uint32()) fail('check bytes differ (corrupt key)');
    const type = priv.text();
    if (type !== 'ssh-ed25519' && type !== 'ssh-rsa' && !(type in CURVES)) fail(`unsupported key type ${type}`, 'unsupported-key-type');
    const privateKey = privateKeyOf(type as SshSigningKey['type'], priv);
    return { type: type as SshSigningKey['type'], publicKeyBlob, privateKey, source };
  } catch (err) {
    if (err instanceof KeyError) throw err;
    return fail(err instanceof SshWireError ? err.message : `invalid key: ${(err as Error).message}`);
  }
}

/** Reads and parses an OpenSSH private key file; KeyError naming the file when unreadable or unusable. */
export async function loadSshSigningKey(file: string): Promise<SshSigningKey> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new KeyError(`cannot read SSH key ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file }, { cause: err });
  }
  return parseSshPrivateKey(text, file);
}

function signatureBlob(key: SshSigningKey, data: Buffer): Buffer {
  if (key.type === 'ssh-ed25519') return Buffer.concat([sshString('ssh-ed25519'), sshString(sign(null, data, key.privateKey))]);
  if (key.type === 'ssh-rsa') return Buffer.concat([sshString('rsa-sha2-512'), sshString(sign('sha512', data, key.privateKey))]);
  const curve = CURVES[key.type]!;
  const p1363 = sign(curve.hash, data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  const rs = Buffer.concat([mpint(p1363.subarray(0, curve.size)), mpint(p1363.subarray(curve.size))]);
  return Buffer.concat([sshString(key.type), sshString(rs)]);
}

/**
 * Signs `payload` as `ssh-keygen -Y sign -n NAMESPACE` does (OpenSSH PROTOCOL.sshsig, hash sha512) and
 * returns the `-----BEGIN SSH SIGNATURE-----` armor, lines of 70 characters, newline-terminated. For a git
 * commit the namespace is `git` and the payload is the commit object without its gpgsig header.
 */
export function signSshPayload(key: SshSigningKey, payload: Uint8Array, namespace = 'git'): string {
  const hash = createHash('sha512').update(payload).digest();
  const signed = Buffer.concat([SIG_MAGIC, sshString(namespace), sshString(''), sshString('sha512'), sshString(hash)]);
  const version = Buffer.alloc(4);
  version.writeUInt32BE(1);
  const blob = Buffer.concat([SIG_MAGIC, version, sshString(key.publicKeyBlob), sshString(namespace), sshString(''), sshString('sha512'), sshString(signatureBlob(key, signed))]);
  const b64 = blob.toString('base64');
  const lines = b64.match(/.{1,70}/g) ?? [];
  return `-----BEGIN SSH SIGNATURE-----\n${lines.join('\n')}\n-----END SSH SIGNATURE-----\n`;
}
