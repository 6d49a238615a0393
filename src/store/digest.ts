import { InvalidDigestError } from '../errors/index.js';

/** A validated content digest: exactly `sha256:` followed by 64 lowercase hex characters. */
export type Digest = string & { readonly __digest: unique symbol };

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
const HEX_RE = /^[0-9a-f]{64}$/;

/** True when `value` is a well-formed digest string. */
export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_RE.test(value);
}

/**
 * Validates a digest string at the edge, before it becomes a path or a URL.
 * Throws InvalidDigestError naming `what` (a field or argument) when it is not exactly `sha256:` + 64 hex.
 */
export function parseDigest(value: unknown, what = 'digest'): Digest {
  if (!isDigest(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
    throw new InvalidDigestError(`${what} must be "sha256:" followed by 64 lowercase hex characters, got ${shown}`, {
      what,
    });
  }
  return value;
}

/** The 64 hex characters of a digest. */
export function digestHex(d: Digest): string {
  return d.slice('sha256:'.length);
}

/** Builds a digest from 64 lowercase hex characters (as produced by node:crypto's hex digest). */
export function digestFromHex(hex: string): Digest {
  if (!HEX_RE.test(hex)) throw new InvalidDigestError(`not a sha256 hex string: ${JSON.stringify(hex.slice(0, 80))}`);
  return `sha256:${hex}` as Digest;
}

/** A short form for names and logs: the first 12 hex characters. */
export function shortDigest(d: Digest): string {
  return digestHex(d).slice(0, 12);
}
