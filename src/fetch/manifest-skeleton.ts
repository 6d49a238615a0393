import { ManifestError } from '../errors/index.js';
import { isDigest, type Digest } from '../store/digest.js';
import { MANIFEST_FORMAT } from '../packages/manifest-types.js';

/** What a no-op fetch needs of a manifest: its name, its references, and the bytes of its files. */
export interface ManifestSkeleton {
  name: string;
  references: Digest[];
  fileBytes: number;
}

function fail(digest: Digest, message: string): never {
  throw new ManifestError(`cached manifest ${digest}: ${message}`, { object: digest });
}

/**
 * Reads the skeleton of manifest `digest` from its cached bytes, which the caller has just re-hashed, and
 * of a package already materialised from them: those very bytes were decoded and checked in full
 * (packages/manifest-codec.ts) before it was placed, so the per-entry field and path checks, most of the
 * time of a no-op on a 2,000-file closure, would repeat a verdict on the same bytes. What the caller builds from
 * is still checked: the format, references that are sha256 digests, a string name (the caller checks it
 * as a path segment), and each entry's type and, for a file, a size that is a non-negative integer.
 * Throws ManifestError.
 */
export function readManifestSkeleton(bytes: Buffer, digest: Digest): ManifestSkeleton {
  let m: unknown;
  try {
    m = JSON.parse(bytes.toString('utf8'));
  } catch {
    fail(digest, 'not JSON');
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) fail(digest, 'not a JSON object');
  const { format, name, references, entries } = m as Record<string, unknown>;
  if (format !== MANIFEST_FORMAT) fail(digest, `unsupported format ${JSON.stringify(format)}`);
  if (typeof name !== 'string') fail(digest, '"name" must be a string');
  if (!Array.isArray(references) || !references.every(isDigest)) fail(digest, '"references" must be sha256 digests');
  if (!Array.isArray(entries)) fail(digest, '"entries" must be an array');
  let fileBytes = 0;
  for (const e of entries as unknown[]) {
    const { type, size } = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
    if (type === 'file') {
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) fail(digest, 'a file entry\'s "size" must be a non-negative integer');
      fileBytes += size;
    } else if (type !== 'dir' && type !== 'symlink') {
      fail(digest, 'an entry is not a file, dir or symlink');
    }
  }
  return { name, references, fileBytes };
}
