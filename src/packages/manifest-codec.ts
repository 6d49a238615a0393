import { hash } from 'node:crypto';
import { ManifestError, SizeLimitError, IntegrityError } from '../errors/index.js';
import { digestFromHex, type Digest } from '../store/digest.js';
import { decodeManifest } from './manifest-decode.js';
import { manifestJson } from './manifest-json.js';
import { resolveLimits, type ManifestLimits } from './limits.js';
import type { LoadedManifest, Manifest } from './manifest-types.js';
import { validateManifest } from './manifest-validate.js';

/** sha256 of `bytes` as a Digest (one-shot: no Hash object per call, which a fetch makes for every inline file). */
export function hashBytes(bytes: Uint8Array): Digest {
  return digestFromHex(hash('sha256', bytes, 'hex'));
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

/** Runs `step`, naming manifest `name` in any ManifestError it throws. */
function naming<T>(name: Digest, step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof ManifestError) {
      throw new ManifestError(`manifest ${name}: ${err.message}`, { ...err.data, object: name }, { cause: err });
    }
    throw err;
  }
}

/** Manifest bytes whose hash, size and fields were checked, but not yet their tree rules or canonical form. */
export interface DecodedManifest {
  digest: Digest;
  bytes: Buffer;
  /** Not for the filesystem until checkDecodedManifest passed: its paths are unchecked. */
  manifest: Manifest;
}

/**
 * The first half of parseManifest: size cap, hash (against `expected` when given, IntegrityError), valid
 * UTF-8 JSON, exact fields and sha256 digests. What it returns may only name things to ask a store for
 * (the references, a pack hint): the second half, checkDecodedManifest, must pass before anything acts on
 * its entries. Throws as parseManifest.
 */
export function decodeManifestBytes(bytes: Buffer, expected?: Digest, limits?: Partial<ManifestLimits>): DecodedManifest {
  const lim = resolveLimits(limits);
  const digest = hashBytes(bytes);
  const name = expected ?? digest;
  if (expected !== undefined && digest !== expected) {
    throw new IntegrityError(`manifest ${expected}: bytes hash to ${digest}`, { object: expected, actual: digest });
  }
  if (bytes.length > lim.maxManifestBytes) {
    throw new SizeLimitError(`manifest ${name}: ${bytes.length} bytes over the limit ${lim.maxManifestBytes}`, { object: name });
  }
  return naming(name, () => {
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new ManifestError(`not JSON: ${(err as Error).message}`, { field: '' });
    }
    return { digest, bytes, manifest: decodeManifest(json) };
  });
}

/** The second half of parseManifest: the tree rules and canonical form. Throws as parseManifest. */
export function checkDecodedManifest(d: DecodedManifest, limits?: Partial<ManifestLimits>): LoadedManifest {
  return naming(d.digest, () => {
    validateManifest(d.manifest, resolveLimits(limits));
    if (!Buffer.from(manifestJson(d.manifest), 'utf8').equals(d.bytes)) {
      throw new ManifestError('bytes are not canonical (duplicate keys, whitespace, key order or encoding)', { field: '', rule: 'canonical' });
    }
    return { digest: d.digest, bytes: d.bytes, manifest: d.manifest };
  });
}

/**
 * Parses manifest bytes strictly: size cap, valid UTF-8 JSON, exact fields, sha256 digests only, the path
 * and tree rules, and canonical form (re-encoding must give the same bytes, which also refuses duplicate
 * keys, whitespace, unsorted keys and escapes we would not write). When `expected` is given the bytes
 * must hash to it (IntegrityError). Throws ManifestError / SizeLimitError naming the manifest.
 */
export function parseManifest(bytes: Buffer, expected?: Digest, limits?: Partial<ManifestLimits>): LoadedManifest {
  return checkDecodedManifest(decodeManifestBytes(bytes, expected, limits), limits);
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
