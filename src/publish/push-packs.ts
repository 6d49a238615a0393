import { readFile } from 'node:fs/promises';
import { UnsafePathError } from '../errors/index.js';
import type { BuiltPackage } from '../packages/build-manifest.js';
import { hashBytes } from '../packages/manifest-codec.js';
import { encodePackHeader, encodePackHint, packableObjects, planPackRuns, type PackRef } from '../packages/pack-format.js';
import { objectKey, packHintKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { runPool } from '../util/run-pool.js';

export interface PushPacksResult {
  packs: number;
  uploadedPacks: number;
  uploadedBytes: number;
}

/**
 * Writes the packs of a pushed package (runs of its objects, see packages/pack-format.ts) and then its pack
 * hint, after the objects and the manifest: a reader that finds the hint finds every pack it names. Each
 * pack is built in memory (at most PACK_TARGET_BYTES plus its index, two at a time), from the files
 * re-hashed as they are read: a file changed since the manifest was built fails the push with
 * UnsafePathError rather than publishing a pack every reader would refuse. A pack already in the store
 * (same digest) is not uploaded again. The hint is rewritten (same bytes for the same tree).
 */
export async function pushPacks(store: Store, built: BuiltPackage, signal?: AbortSignal): Promise<PushPacksResult> {
  const objects = packableObjects(built.manifest);
  const sources = new Map(built.objects.map((o) => [o.digest, o.source]));
  let uploadedPacks = 0;
  let uploadedBytes = 0;
  const packs = await runPool(planPackRuns(objects), 2, async ({ first, count }): Promise<PackRef> => {
    const entries = objects.slice(first, first + count);
    const parts: Buffer[] = [encodePackHeader(entries)];
    for (const e of entries) {
      const source = sources.get(e.digest) ?? '';
      const bytes = await readFile(source, signal ? { signal } : {});
      if (bytes.length !== e.size || hashBytes(bytes) !== e.digest) {
        throw new UnsafePathError(`${source} changed while it was being pushed (expected ${e.digest}, ${e.size} bytes)`, { path: source });
      }
      parts.push(bytes);
    }
    const pack = Buffer.concat(parts);
    const digest = hashBytes(pack);
    try {
      const info = await store.head(objectKey(digest), signal ? { signal } : {});
      if (info.size === pack.length) return { digest, first, count };
    } catch (err) {
      if (!store.isNotFound(err)) throw err;
    }
    await store.put(objectKey(digest), pack, signal ? { contentLength: pack.length, signal } : { contentLength: pack.length });
    uploadedPacks++;
    uploadedBytes += pack.length;
    return { digest, first, count };
  });
  if (packs.length > 0) {
    const hint = encodePackHint({ manifest: built.digest, packs });
    await store.put(packHintKey(built.digest), hint, signal ? { contentLength: hint.length, signal } : { contentLength: hint.length });
  }
  return { packs: packs.length, uploadedPacks, uploadedBytes };
}
