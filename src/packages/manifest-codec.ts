import { createHash } from 'node:crypto';
import { ManifestError, SizeLimitError, IntegrityError } from '../errors/index.js';
import { digestFromHex, type Digest } from '../store/digest.js';
import { decodeManifest } from './manifest-decode.js';
import { manifestJson } from './manifest-json.js';
import { resolveLimits, type ManifestLimits } from './limits.js';
import type { LoadedManifest, Manifest } from './manifest-types.js';
import { validateManifest } from './manifest-validate.js';

/** sha256 of `bytes` as a Digest. */
export function hashBytes(bytes: Uint8Array): Digest {
  return digestFromHex(createHash('sha256').update(bytes).digest('hex'));
}

/**
 * Encodes a manifest to its canonical bytes and digest, after validating it (so nothing we write could be
 * refused by a reader). Entries and references must already be sorted. Throws ManifestError.
 */
export function encodeManifest(m: Manifest, limits?: Partial<ManifestLimits>): LoadedManifest {
  const lim = resolveLimits(limits);
  validateManifest(m, lim);
  const bytes = Buffer.from(manifestJson(m), 'utf8');
  if (bytes.length > lim.maxManifestBytes) throw new SizeLimitError(`manifest of ${bytes.length} bytes over the limit ${lim.maxManifestBytes}`, { size: bytes.length });
  return { digest: hashBytes(bytes), bytes, manifest: m };
}

/**
 * Parses manifest bytes strictly: size cap, valid UTF-8 JSON, exact fields, sha256 digests only, the path
 * and tree rules, and canonical form (re-encoding must give the same bytes, which also refuses duplicate
 * keys, whitespace, unsorted keys and escapes we would not write). When `expected` is given the bytes
 * must hash to it (IntegrityError). Throws ManifestError / SizeLimitError naming the manifest.
 */
export function parseManifest(bytes: Buffer, expected?: Digest, limits?: Partial<ManifestLimits>): LoadedManifest {
  const lim = resolveLimits(limits);
  const digest = hashBytes(bytes);
  const name = expected ?? digest;
  if (expected !== undefined && digest !== expected) {
    throw new IntegrityError(`manifest ${expected}: bytes hash to ${digest}`, { object: expected, actual: digest });
  }
  if (bytes.length > lim.maxManifestBytes) {
    throw new SizeLimitError(`manifest ${name}: ${bytes.length} bytes over the limit ${lim.maxManifestBytes}`, { object: name });
  }
  try {
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new ManifestError(`not JSON: ${(err as Error).message}`, { field: '' });
    }
    const manifest = decodeManifest(json);
    validateManifest(manifest, lim);
    if (!Buffer.from(manifestJson(manifest), 'utf8').equals(bytes)) {
      throw new ManifestError('bytes are not canonical (duplicate keys, whitespace, key order or encoding)', { field: '', rule: 'canonical' });
    }
    return { digest, bytes, manifest };
  } catch (err) {
    if (err instanceof ManifestError) {
      throw new ManifestError(`manifest ${name}: ${err.message}`, { ...err.data, object: name }, { cause: err });
    }
    throw err;
  }
}

/**
 * Decodes a manifest from the local object cache, which only ever holds manifests that passed
 * `parseManifest` in full and whose bytes the caller has just re-hashed: the tree rules and canonical
 * check are skipped (they cost tens of ms on a 2,000-entry manifest, most of a no-op fetch). The field
 * checks still run. Throws ManifestError.
 */
export function decodeCachedManifest(bytes: Buffer, digest: Digest): LoadedManifest {
  try {
    return { digest, bytes, manifest: decodeManifest(JSON.parse(bytes.toString('utf8'))) };
  } catch (err) {
    throw new ManifestError(`cached manifest ${digest}: ${(err as Error).message}`, { object: digest });
  }
}
