import { IntegrityError } from '../errors/index.js';
import { decodeNixBase32, encodeNixBase32 } from './base32.js';

const SHA256_BYTES = 32;

/**
 * Parses a sha256 hash the way Nix writes or accepts one: `sha256:<base-32>` (52 characters, what
 * binary caches write), `sha256:<base-16>` (64), `sha256:<base-64>` (44) or SRI `sha256-<base-64>`.
 * Returns the 32 digest bytes. Throws IntegrityError naming `what` (e.g. "NarHash of /nix/store/…") for
 * any other algorithm or a malformed digest: a hash we cannot read protects nothing.
 */
export function parseSha256(text: string, what: string): Buffer {
  const bad = (why: string): never => {
    throw new IntegrityError(`${what}: ${why} (got ${JSON.stringify(text.slice(0, 120))})`, { what });
  };
  const m = /^([a-z0-9]+)([:-])(.*)$/.exec(text);
  if (m === null) return bad('expected sha256:<hash> or sha256-<base64>');
  const [, algo, sep, body = ''] = m;
  if (algo !== 'sha256') return bad(`only sha256 is accepted, not ${algo}`);
  let digest: Buffer | undefined;
  if (sep === '-') digest = decodeBase64Exact(body);
  else if (body.length === 52) digest = decodeNixBase32(body, SHA256_BYTES);
  else if (body.length === 64 && /^[0-9a-f]+$/.test(body)) digest = Buffer.from(body, 'hex');
  else if (body.length === 44) digest = decodeBase64Exact(body);
  if (digest?.length !== SHA256_BYTES) return bad('not a well-formed sha256 digest in base-32, base-16 or base-64');
  return digest;
}

function decodeBase64Exact(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const buf = Buffer.from(text, 'base64');
  return buf.toString('base64') === text ? buf : undefined;
}

/** `sha256:<base-32>`: the form Nix puts in narinfo files and in the signed fingerprint. */
export function formatSha256(digest: Uint8Array): string {
  return `sha256:${encodeNixBase32(digest)}`;
}
