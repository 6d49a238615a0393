import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { FlotillaError, IntegrityError, NotFoundError, SizeLimitError, TransportError } from '../errors/index.js';
import { digestFromHex, type Digest } from '../store/digest.js';
import { objectKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import type { FsOpRunner } from './fs-op-runner.js';
import type { ObjectCache } from './object-cache.js';
import { localDiskFull } from './disk-guard.js';

export interface ObjectFetchOptions {
  signal?: AbortSignal;
  /** Deadline for one object from one store; default 60 s plus 1 s per 256 KiB. */
  timeoutMs?: number;
  /** Receives each verified temp file; it is responsible for flushing and renaming it into the cache. */
  commit: (tmp: string, digest: Digest, size: number) => Promise<void>;
  onBytes?: (n: number) => void;
  /** Runs the copy and hash of objects from a local store. */
  fsOps: FsOpRunner;
  /** Our uid: a local store's object owned by it and read-only is hard-linked rather than copied. */
  linkOwner?: number;
}

const WRITE_CHUNK = 1024 * 1024;

function deadlineFor(size: number, o: ObjectFetchOptions): number {
  return o.timeoutMs ?? 60_000 + Math.ceil(size / 262_144) * 1000;
}

/** Maps a failed `place` step to the error a store would give for that object. */
function placeError(store: Store, key: string, r: { code: string; message: string }): Error {
  if (r.code === 'ENOENT' || r.code === 'ENOTDIR') return new NotFoundError(`${key} not found in ${store.url}`, { url: store.url, key });
  if (r.code === 'EFBIG') return new SizeLimitError(`${key} in ${store.url}: ${r.message}`, { url: store.url, key });
  return new TransportError(`get ${key} in ${store.url}: ${r.code}`, { url: store.url, key, errno: r.code });
}

/**
 * A local store (the directory store): the object is copied inside the kernel into our temp file, or
 * hard-linked there when its inode is ours and read-only (see fs-ops.ts), and the bytes under the temp name
 * are hashed and sized, so nothing unverified ever gets a cache name.
 */
async function placeFrom(store: Store, src: string, cache: ObjectCache, digest: Digest, size: number, o: ObjectFetchOptions): Promise<void> {
  if (o.signal?.aborted === true) throw o.signal.reason;
  const tmp = cache.tempPath();
  try {
    const [r] = await o.fsOps.run([{ op: 'place', src, dest: tmp, limit: size, ...(o.linkOwner === undefined ? {} : { linkOwner: o.linkOwner }) }]);
    if (r === undefined || !r.ok) throw localDiskFull(r, cache.tmpDir) ?? placeError(store, objectKey(digest), r ?? { code: 'EIO', message: 'no result' });
    const got = { bytes: r.bytes ?? 0, digest: digestFromHex(r.hex ?? '') };
    if (got.bytes > size) throw new SizeLimitError(`object ${digest}: more than the ${size} bytes the manifest declares`, { object: digest });
    if (got.bytes !== size || got.digest !== digest) {
      throw new IntegrityError(`object ${digest}: got ${got.bytes} bytes hashing to ${got.digest}`, { object: digest, actual: got.digest, size: got.bytes });
    }
    o.onBytes?.(size);
    await o.commit(tmp, digest, size);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function fetchFrom(store: Store, cache: ObjectCache, digest: Digest, size: number, o: ObjectFetchOptions): Promise<void> {
  if (store.localPath !== undefined) return placeFrom(store, store.localPath(objectKey(digest)), cache, digest, size, o);
  const signals = [AbortSignal.timeout(deadlineFor(size, o))];
  if (o.signal) signals.push(o.signal);
  const signal = AbortSignal.any(signals);
  const tmp = cache.tempPath();
  const fh = await open(tmp, 'wx', 0o600);
  let reported = 0;
  try {
    // maxBytes makes the backend abort as soon as the body outgrows the signed size.
    const src = await store.get(objectKey(digest), { maxBytes: size, signal });
    const h = createHash('sha256');
    let n = 0;
    // Network bodies arrive in 16-64 KiB chunks: gather them into ~1 MiB writes (one syscall, one await).
    let parts: Buffer[] = [];
    let partBytes = 0;
    const flush = async (): Promise<void> => {
      if (parts.length === 0) return;
      await fh.writev(parts);
      o.onBytes?.(partBytes);
      reported += partBytes;
      parts = [];
      partBytes = 0;
    };
    for await (const chunk of src) {
      const buf = chunk as Buffer;
      n += buf.length;
      if (n > size) {
        src.destroy();
        throw new SizeLimitError(`object ${digest}: more than the ${size} bytes the manifest declares`, { object: digest });
      }
      h.update(buf);
      parts.push(buf);
      partBytes += buf.length;
      if (partBytes >= WRITE_CHUNK) await flush();
    }
    await flush();
    const actual = digestFromHex(h.digest('hex'));
    if (n !== size || actual !== digest) {
      throw new IntegrityError(`object ${digest}: got ${n} bytes hashing to ${actual}`, { object: digest, actual, size: n });
    }
    await fh.close();
    await o.commit(tmp, digest, size);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    if (reported > 0) o.onBytes?.(-reported);
    if (signal.aborted && !(err instanceof FlotillaError) && o.signal?.aborted !== true) {
      throw new TransportError(`object ${digest}: deadline of ${deadlineFor(size, o)} ms passed`, { object: digest });
    }
    throw err;
  }
}

/**
 * Fetches one object, trying `stores` in order: hashed while it streams into a temp file, handed to
 * `o.commit` (flush + rename into the cache) only when hash and size match. A corrupt, missing or failing copy in one store is taken from the
 * next. A full local disk (ENOSPC, EDQUOT) throws DiskFullError at once, trying no other store. If all fail, one error names the object and each store's reason: NotFoundError when every store
 * lacks it, IntegrityError when any served wrong bytes, else TransportError. Returns the attempts made.
 */
export async function fetchObject(stores: Store[], cache: ObjectCache, digest: Digest, size: number, o: ObjectFetchOptions): Promise<number> {
  const reasons: Array<{ store: string; code: string; message: string }> = [];
  for (const store of stores) {
    try {
      await fetchFrom(store, cache, digest, size, o);
      return reasons.length + 1;
    } catch (err) {
      if (o.signal?.aborted) throw err;
      // A full local disk is no store's fault: another mirror would fill the same disk.
      const full = localDiskFull(err, cache.tmpDir);
      if (full) throw full;
      const code = store.isNotFound(err) ? 'NotFoundError' : err instanceof FlotillaError ? err.code : 'TransportError';
      reasons.push({ store: store.url, code, message: err instanceof Error ? err.message : String(err) });
    }
  }
  const message = `object ${digest} (${size} bytes) could not be fetched: ${reasons.map((r) => `${r.store}: ${r.code}: ${r.message}`).join('; ')}`;
  const data = { object: digest, size, stores: reasons };
  if (reasons.every((r) => r.code === 'NotFoundError')) throw new NotFoundError(message, data);
  if (reasons.some((r) => r.code === 'IntegrityError' || r.code === 'SizeLimitError')) throw new IntegrityError(message, data);
  throw new TransportError(message, data);
}
