import { createHash } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { FlotillaError, IntegrityError, NotFoundError, SizeLimitError, TransportError } from '../errors/index.js';
import { digestFromHex, type Digest } from '../store/digest.js';
import { objectKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import type { FsOpRunner } from './fs-op-runner.js';
import type { ObjectCache } from './object-cache.js';
import { localDiskFull } from './disk-guard.js';
import { TEMP_MODE } from './write-temps.js';

export interface ObjectFetchOptions {
  /** Aborts the fetch; it gets one listener per call in flight (placeObjects passes one of its own). */
  signal?: AbortSignal;
  /** Deadline for one object from one store; default 60 s plus 1 s per 256 KiB. */
  timeoutMs?: number;
  /** Receives each verified temp file; it is responsible for flushing and renaming it into the cache. */
  commit: (tmp: string, digest: Digest, size: number) => Promise<void> | undefined;
  onBytes?: (n: number) => void;
  /** Runs the copy and hash of objects from a local store. */
  fsOps: FsOpRunner;
  /** Our uid: a local store's object owned by it and read-only is hard-linked rather than copied. */
  linkOwner?: number;
  /**
   * Settles once the temp file's directory exists (its package tree, begun ahead): the object is asked
   * for before, its file made only after; its failure is the fetch's (no store is to blame).
   */
  ready?: Promise<void>;
}

// Bounded per object in flight: 16 downloads hold 4 MiB of pending writes, not 16.
const WRITE_CHUNK = 256 * 1024;

/** The deadline of one body of `size` bytes from one store: `timeoutMs`, else 60 s plus 1 s per 256 KiB. */
export function deadlineFor(size: number, o: { timeoutMs?: number }): number {
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
  await o.ready;
  const tmp = cache.tempPath(digest);
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

/**
 * The object's deadline as one timer and one controller (no AbortSignal.any per object: it costs more than
 * the timer): `signal` aborts when `ms` passes (reason: a TransportError naming the object and the
 * deadline) or `outer` aborts. `outer` gets one listener per object in flight: pass a signal of ours.
 */
export function objectDeadline(ms: number, digest: Digest, outer: AbortSignal | undefined): { signal: AbortSignal; timedOut: () => boolean; clear: () => void } {
  const ctl = new AbortController();
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    ctl.abort(new TransportError(`object ${digest}: deadline of ${ms} ms passed`, { object: digest }));
  }, ms);
  const onOuter = (): void => ctl.abort(outer?.reason);
  if (outer?.aborted === true) onOuter();
  else outer?.addEventListener('abort', onOuter, { once: true });
  return {
    signal: ctl.signal,
    timedOut: () => late,
    clear: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    },
  };
}

/**
 * Streams `src` into `fh`, hashing and counting as it goes: chunks are gathered into ~256 KiB writes (one
 * syscall, one await) and the stream is paused while one is written, so at most ~256 KiB plus the stream's
 * own buffer is held per object. Events, not async iteration: no promise per chunk.
 */
function drainInto(src: Readable, fh: FileHandle, digest: Digest, size: number, onWritten: (n: number) => void): Promise<{ n: number; hex: string }> {
  // The body may have failed while the file was opened (fetchFrom keeps that error from going unhandled):
  // its events are past, so they are read here.
  if (src.errored) return Promise.reject(src.errored);
  if (src.destroyed) return Promise.reject(new TransportError(`object ${digest}: the body ended early`, { object: digest }));
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let n = 0;
    let parts: Buffer[] = [];
    let partBytes = 0;
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      src.destroy();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    const flush = async (): Promise<void> => {
      const out = parts;
      const bytes = partBytes;
      parts = [];
      partBytes = 0;
      if (bytes === 0) return;
      await fh.writev(out);
      onWritten(bytes);
    };
    src.on('data', (chunk: Buffer) => {
      n += chunk.length;
      if (n > size) return fail(new SizeLimitError(`object ${digest}: more than the ${size} bytes the manifest declares`, { object: digest }));
      h.update(chunk);
      parts.push(chunk);
      partBytes += chunk.length;
      if (partBytes < WRITE_CHUNK) return;
      src.pause();
      flush().then(() => src.resume(), fail);
    });
    let ended = false;
    src.once('error', fail);
    // A body destroyed without an error (nothing else would settle this promise) is a cut transfer.
    src.once('close', () => {
      if (!ended) fail(new TransportError(`object ${digest}: the body ended early`, { object: digest }));
    });
    src.once('end', () => {
      ended = true;
      flush().then(() => {
        if (!failed) resolve({ n, hex: h.digest('hex') });
      }, fail);
    });
  });
}

async function fetchFrom(store: Store, cache: ObjectCache, digest: Digest, size: number, o: ObjectFetchOptions): Promise<void> {
  if (store.localPath !== undefined) return placeFrom(store, store.localPath(objectKey(digest)), cache, digest, size, o);
  const deadline = objectDeadline(deadlineFor(size, o), digest, o.signal);
  const tmp = cache.tempPath(digest);
  let fh: FileHandle | undefined;
  let reported = 0;
  try {
    // maxBytes makes the backend abort as soon as the body outgrows the signed size.
    // The temp file opens while the request is in flight (once its directory exists, `ready`). Until
    // drainInto listens, an error of the body is only kept (drainInto reads `errored`): an 'error' event
    // with no listener would be thrown, one missed would leave the transfer waiting for its deadline.
    const opening = o.ready === undefined ? open(tmp, 'wx', TEMP_MODE) : o.ready.then(() => open(tmp, 'wx', TEMP_MODE));
    const getting = store.get(objectKey(digest), { maxBytes: size, signal: deadline.signal }).then((body) => body.on('error', () => undefined));
    const [opened, got] = await Promise.allSettled([opening, getting]);
    if (opened.status === 'fulfilled') fh = opened.value;
    if (got.status === 'fulfilled' && opened.status === 'rejected') got.value.destroy();
    if (opened.status === 'rejected') throw opened.reason;
    if (got.status === 'rejected') throw got.reason;
    const [handle, src] = [opened.value, got.value];
    const { n, hex } = await drainInto(src, handle, digest, size, (bytes) => {
      o.onBytes?.(bytes);
      reported += bytes;
    });
    const actual = digestFromHex(hex);
    if (n !== size || actual !== digest) {
      throw new IntegrityError(`object ${digest}: got ${n} bytes hashing to ${actual}`, { object: digest, actual, size: n });
    }
    await handle.close();
    fh = undefined;
    deadline.clear();
    await o.commit(tmp, digest, size);
  } catch (err) {
    deadline.clear();
    await fh?.close().catch(() => undefined);
    await rm(tmp, { force: true });
    if (reported > 0) o.onBytes?.(-reported);
    if (deadline.timedOut() && !(err instanceof FlotillaError) && o.signal?.aborted !== true) {
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
  let notReady = false;
  o.ready?.catch(() => (notReady = true));
  for (const store of stores) {
    try {
      await fetchFrom(store, cache, digest, size, o);
      return reasons.length + 1;
    } catch (err) {
      if (o.signal?.aborted || notReady) throw err;
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
