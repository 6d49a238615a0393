import { basename } from 'node:path';
import { NotFoundError } from '../errors/index.js';
import type { Digest } from '../store/digest.js';
import { objectKey, signatureKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { signManifest } from '../trust/manifest-signature.js';
import type { SecretKey } from '../trust/publisher-key.js';
import { buildManifest } from '../packages/build-manifest.js';
import { resolveLimits, type ManifestLimits } from '../packages/limits.js';
import { parseManifest } from '../packages/manifest-codec.js';
import { runPool } from '../util/run-pool.js';
import { uploadObjectIfMissing } from '../packages/upload-object.js';
import { pushPacks } from './push-packs.js';

export interface PushOptions {
  /** Package name (default: the directory's base name). */
  name?: string;
  references?: Digest[];
  signKeys?: SecretKey[];
  provenance?: Record<string, string>;
  limits?: Partial<ManifestLimits>;
  /** Parallel uploads (default 16). */
  concurrency?: number;
  signal?: AbortSignal;
  /** Also write packs of the objects and the package's pack hint, for cold fetches (default true). */
  packs?: boolean;
}

export interface PushResult {
  digest: Digest;
  name: string;
  manifestBytes: number;
  files: number;
  objects: number;
  uploadedObjects: number;
  uploadedBytes: number;
  /** Packs the package's hint names (0 with `packs: false` or when it has fewer than two packable objects). */
  packs: number;
  signatures: string[];
}

/**
 * Pushes a directory as a package: builds the manifest (all path rules), checks that every reference is a
 * valid manifest in the store, uploads only the objects the store lacks, then the manifest, its packs and
 * pack hint (push-packs.ts), then one signature per key. Re-pushing an unchanged tree uploads nothing (but re-signs).
 * Throws UnsafePathError (tree), NotFoundError (missing reference) or the store's errors.
 */
export async function pushDirectory(store: Store, dir: string, options: PushOptions = {}): Promise<PushResult> {
  const limits = resolveLimits(options.limits);
  const name = options.name ?? basename(dir);
  const references = options.references ?? [];
  for (const ref of references) {
    let bytes: Buffer;
    try {
      bytes = await store.getBytes(objectKey(ref), { maxBytes: limits.maxManifestBytes });
    } catch (err) {
      if (store.isNotFound(err)) throw new NotFoundError(`reference ${ref} is not in ${store.url}; push it first`, { object: ref });
      throw err;
    }
    parseManifest(bytes, ref, limits);
  }
  const built = await buildManifest(dir, { name, references, provenance: options.provenance ?? {}, limits, concurrency: 8 });
  const sizes = await runPool(built.objects, options.concurrency ?? 16, (o) => uploadObjectIfMissing(store, o.source, o.digest, o.size, options.signal));
  const uploadedObjects = sizes.filter((r) => r.uploaded).length;
  let uploadedBytes = sizes.reduce((a, r) => a + r.bytes, 0);
  let manifestUploaded = false;
  try {
    await store.head(objectKey(built.digest));
  } catch (err) {
    if (!store.isNotFound(err)) throw err;
    await store.put(objectKey(built.digest), built.bytes, { contentLength: built.bytes.length });
    uploadedBytes += built.bytes.length;
    manifestUploaded = true;
  }
  // Packs and their hint before the signatures: once a reader can trust the manifest, its hint is complete.
  const packs = options.packs === false ? { packs: 0, uploadedPacks: 0, uploadedBytes: 0 } : await pushPacks(store, built, options.signal);
  uploadedBytes += packs.uploadedBytes;
  const signatures: string[] = [];
  for (const key of options.signKeys ?? []) {
    await store.put(signatureKey(built.digest, key.name), signManifest(key, built.digest, built.bytes.length));
    signatures.push(key.name);
  }
  return {
    digest: built.digest,
    name,
    manifestBytes: built.bytes.length,
    files: built.manifest.entries.filter((e) => e.type === 'file').length,
    objects: built.objects.length,
    uploadedObjects: uploadedObjects + (manifestUploaded ? 1 : 0),
    uploadedBytes,
    packs: packs.packs,
    signatures,
  };
}
