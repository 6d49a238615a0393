import { existsSync } from 'node:fs';
import { chmod, mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Digest } from '../store/digest.js';
import { objectPathIn, objectsDir, objectsTempDir, objectTempPathIn, objectTempTag, signatureCachePath, signatureShardDir } from '../generations/layout.js';
import { MAX_SIG_BYTES, type SignatureSource } from '../trust/manifest-policy.js';
import type { ObjectCache } from './object-cache.js';

// The manifests and root signatures of the object cache (object-cache.ts describes the layout). Only
// node:fs/promises here: a no-op fetch reads its closure with this module alone (present-closure.ts), and
// the object path's runners (worker threads) stay unloaded.

/**
 * The cache under `stateDir` as names only: nothing is created or cleaned (openObjectCache does both). Its
 * temp names carry one random tag per cache, then a counter: unique across processes without a random
 * draw per file.
 */
export function objectCacheAt(stateDir: string): ObjectCache {
  const tag = objectTempTag();
  let n = 0;
  const dir = objectsDir(stateDir);
  const tmpDir = objectsTempDir(stateDir);
  return {
    stateDir,
    tmpDir,
    path: (d, x = false) => objectPathIn(dir, d, x),
    tempPath: () => objectTempPathIn(tmpDir, tag, n++),
  };
}

/**
 * Writes manifest bytes the caller has verified into the cache: a temp file, then its final name (made
 * read-only, the shard directory created on demand). Not flushed: a lost manifest is fetched again.
 */
export function writeVerified(cache: ObjectCache, digest: Digest, bytes: Uint8Array): Promise<void> {
  return writeCached(cache, cache.path(digest), bytes);
}

/**
 * Keeps signatures of manifest `digest` that verified (as writeVerified keeps manifests), so a later fetch
 * of the same closure can check its policy without asking a store: signatures are immutable, unlike the
 * deployable flag, which is never cached. Throws InvalidNameError for a bad key name, fs errors.
 */
export async function writeSignatures(cache: ObjectCache, digest: Digest, signatures: ReadonlyArray<{ keyName: string; bytes: Uint8Array }>): Promise<void> {
  for (const s of signatures) await writeCached(cache, signatureCachePath(cache.stateDir, digest, s.keyName), s.bytes);
}

/**
 * Whether the cache may hold a signature of `digest` by one of `keyNames`: false, known at once, when it
 * certainly holds none. A synchronous lstat of a missing name costs microseconds; an open through libuv's
 * pool, a round trip before the store is asked (a cold fetch's first request after the root manifest).
 */
export function mayHoldSignature(cache: Pick<ObjectCache, 'stateDir'>, digest: Digest, keyNames: readonly string[]): boolean {
  if (!existsSync(signatureShardDir(cache.stateDir, digest))) return false;
  return keyNames.some((name) => existsSync(signatureCachePath(cache.stateDir, digest, name)));
}

/**
 * The cached signatures of `digest`, as a policy check reads them: whatever bytes are there (at most
 * MAX_SIG_BYTES), never trusted as such: the check verifies each against the key and the manifest's
 * digest and size. Absent or unreadable is simply none.
 */
export function cachedSignatures(cache: Pick<ObjectCache, 'stateDir'>, digest: Digest): SignatureSource {
  // Without its shard directory the digest has no cached signature (mayHoldSignature).
  if (!existsSync(signatureShardDir(cache.stateDir, digest))) return () => Promise.resolve({ found: [], errors: [] });
  return async (keyName) => {
    const bytes = await readCapped(signatureCachePath(cache.stateDir, digest, keyName), MAX_SIG_BYTES).catch(() => undefined);
    return { found: bytes === undefined ? [] : [bytes], errors: [] };
  };
}

/** The first `max` bytes of a file, or undefined when it holds more. */
async function readCapped(path: string, max: number): Promise<Buffer | undefined> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(max + 1);
    const { bytesRead } = await fh.read(buf, 0, max + 1, 0);
    return bytesRead > max ? undefined : buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Temp file (exclusive, 0600), read-only, renamed to `dest` (its shard directory made when missing). */
async function writeCached(cache: ObjectCache, dest: string, bytes: Uint8Array): Promise<void> {
  const tmp = cache.tempPath();
  try {
    await writeFile(tmp, bytes, { flag: 'wx', mode: 0o600 });
    await chmod(tmp, 0o444);
    await rename(tmp, dest).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      await mkdir(dirname(dest), { recursive: true });
      await rename(tmp, dest);
    });
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
