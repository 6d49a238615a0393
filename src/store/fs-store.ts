import { link, mkdir, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { addAbortSignal, pipeline, type Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import {
  FlotillaError,
  NotFoundError,
  PreconditionFailedError,
  SizeLimitError,
  TransportError,
  UnsupportedOperationError,
} from '../errors/index.js';
import { fsyncDir, tempNameFor } from '../util/atomic-write.js';
import { readSmallFileSync } from '../util/read-small-file.js';
import { capBytes, readCapped } from './byte-cap.js';
import { dropEtag, openFileIfExists, openIfExists, readEtag, writeEtag } from './fs-etag.js';
import { walkKeys } from './fs-list.js';
import { lockKeyFile, type KeyLockOptions } from './fs-lock.js';
import { writeTempFile } from './fs-write.js';
import { checkKey, checkPrefix, keyPath } from './key-path.js';
import { normaliseEtag } from './etag.js';
import type { ConditionalGetResult, GetOptions, ListOptions, ListPage, ObjectInfo, PutOptions, Store } from './store.js';

/** Options of the directory store. */
export interface FsStoreOptions {
  /** Refuse put/delete with UnsupportedOperationError when false (default true). */
  writable?: boolean;
  /** Per-key lock tuning (compare-and-swap, unconditional put and delete take it). */
  lock?: KeyLockOptions;
}

function isErrno(err: unknown, ...codes: string[]): boolean {
  return codes.includes((err as NodeJS.ErrnoException | null)?.code ?? '');
}

/** The largest file getBytes reads synchronously (smallFile): narinfos, signatures, pins, small manifests. */
const SYNC_READ_MAX = 64 * 1024;

/**
 * The directory store: key `a/b/c` is the file ROOT/a/b/c. Writes go to a `.tmp-` file in the same
 * directory, are fsynced, then renamed (or, for create-if-absent, hard-linked: EEXIST means someone else
 * won) into place, and the directory is fsynced. Compare-and-swap, unconditional put and delete run under a
 * cross-process per-key lock so a CAS never overwrites a write it did not see. Etags are the sha256 hex of
 * the bytes. Works on a local disk or a shared mount with POSIX link/rename semantics.
 */
export function createFsStore(root: string, options: FsStoreOptions = {}): Store {
  const base = resolve(root);
  const url = pathToFileURL(base).href;
  const writable = options.writable ?? true;

  const refuseReadOnly = (op: string, key: string): void => {
    if (!writable) throw new UnsupportedOperationError(`${op} ${key}: store ${url} is read-only`, { url, key, op });
  };
  const notFound = (key: string): NotFoundError => new NotFoundError(`${key} not found in ${url}`, { url, key });
  const conflict = (key: string, why: string): PreconditionFailedError =>
    new PreconditionFailedError(`${key} in ${url}: ${why}`, { url, key });

  async function currentEtag(path: string): Promise<string | undefined> {
    const fh = await openIfExists(path);
    if (fh === undefined) return undefined;
    try {
      return (await readEtag(path, fh)).etag;
    } finally {
      await fh.close();
    }
  }

  /**
   * A file of at most SYNC_READ_MAX (and `maxBytes`) bytes read at once on this thread; undefined for a
   * larger one, which getBytes reads through libuv's pool. A small file's four turns through the pool
   * (open, fstat, read, close) cost more than its four system calls: a cold fetch of a 301-path closure
   * from a `nix+file://` cache reads 301 narinfos of ~1 KB, 508 → 464 ms (docs/performance.md, session
   * 39). O_NONBLOCK, so a FIFO in a key's place is not waited on: as anything but a regular file, it is
   * not found. A directory store is a local filesystem: on one that hangs (a hard NFS mount) the pool
   * would hang too.
   */
  function smallFile(key: string, opts: GetOptions & { maxBytes: number }): Buffer | undefined {
    opts.signal?.throwIfAborted();
    let read: ReturnType<typeof readSmallFileSync>;
    try {
      read = readSmallFileSync(keyPath(base, key), Math.min(opts.maxBytes, SYNC_READ_MAX));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw notFound(key);
      throw err;
    }
    if (read.kind === 'not-file') throw notFound(key);
    return read.kind === 'file' ? read.bytes : undefined;
  }

  /** The open file of `key` and its stat, refused past `maxBytes` (file sizes are hints: readers cap the bytes too). */
  async function openKey(key: string, maxBytes: number | undefined): Promise<{ fh: FileHandle; size: number }> {
    const opened = await openFileIfExists(keyPath(base, key));
    if (opened === undefined) throw notFound(key);
    const { fh, stat } = opened;
    if (maxBytes !== undefined && stat.size > maxBytes) {
      await fh.close();
      throw new SizeLimitError(`${key} in ${url} is ${stat.size} bytes, over the limit of ${maxBytes}`, { url, key, maxBytes });
    }
    return { fh, size: stat.size };
  }

  async function get(key: string, opts: GetOptions = {}): Promise<Readable> {
    const { fh, size } = await openKey(key, opts.maxBytes);
    // Each read of a file stream is a fresh buffer of the high-water mark: 1 MiB for a 500-byte narinfo
    // made a closure of 301 paths allocate 300 MB (and collect it). Sized to the file, up to 1 MiB; one byte
    // more, so that the first read of a file that did not grow is its whole.
    let stream: Readable = fh.createReadStream({ highWaterMark: Math.min(1 << 20, size + 1) });
    if (opts.signal !== undefined) stream = addAbortSignal(opts.signal, stream);
    if (opts.maxBytes === undefined) return stream;
    return pipeline(stream, capBytes(opts.maxBytes, `${key} in ${url}`), () => undefined);
  }

  /**
   * The whole of `key`, read straight into one buffer of its size (grown should the file have grown,
   * refused past `maxBytes`) rather than through a stream: small keys (narinfos, manifests, pointers) are
   * most reads, and a stream costs them several turns of the event loop and a buffer of its own.
   */
  async function getBytes(key: string, opts: GetOptions & { maxBytes: number }): Promise<Buffer> {
    const what = `${checkKey(key)} in ${url}`;
    const small = smallFile(key, opts);
    if (small !== undefined) return small;
    const { fh, size } = await openKey(key, opts.maxBytes);
    try {
      let buf = Buffer.allocUnsafe(Math.min(size, opts.maxBytes) + 1);
      let total = 0;
      for (;;) {
        opts.signal?.throwIfAborted();
        if (total === buf.length) {
          if (total > opts.maxBytes) throw new SizeLimitError(`${what} is larger than the limit of ${opts.maxBytes} bytes`, { what, maxBytes: opts.maxBytes });
          const grown = Buffer.allocUnsafe(Math.min(buf.length * 2, opts.maxBytes + 1));
          buf.copy(grown, 0, 0, total);
          buf = grown;
        }
        const { bytesRead } = await fh.read(buf, total, buf.length - total, total);
        if (bytesRead === 0) break;
        total += bytesRead;
      }
      return buf.subarray(0, total);
    } finally {
      await fh.close();
    }
  }

  // The etag is read through the same handle as the bytes, so the pair always belongs together.
  async function getIfChanged(key: string, etag: string | undefined, opts: GetOptions & { maxBytes: number }): Promise<ConditionalGetResult> {
    const path = keyPath(base, key);
    const fh = await openIfExists(path);
    if (fh === undefined) throw notFound(key);
    try {
      const current = await readEtag(path, fh);
      if (etag !== undefined && current.etag === normaliseEtag(etag)) return { notModified: true };
      if (current.stat.size > BigInt(opts.maxBytes)) {
        throw new SizeLimitError(`${key} in ${url} is ${current.stat.size} bytes, over the limit of ${opts.maxBytes}`, { url, key, maxBytes: opts.maxBytes });
      }
      const bytes = await readCapped(fh.createReadStream({ autoClose: false, start: 0 }), opts.maxBytes, `${key} in ${url}`);
      return { notModified: false, bytes, etag: current.etag };
    } finally {
      await fh.close();
    }
  }

  async function put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<{ etag: string }> {
    refuseReadOnly('put', key);
    if (opts.ifNoneMatch !== undefined && opts.ifMatch !== undefined) {
      throw new UnsupportedOperationError(`put ${key}: ifNoneMatch and ifMatch together`, { url, key });
    }
    const path = keyPath(base, key);
    const dir = dirname(path);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      if (!isErrno(err, 'EEXIST', 'ENOTDIR')) throw err;
      throw new UnsupportedOperationError(`put ${key} in ${url}: a parent of this key is itself a key`, { url, key });
    }
    const tmp = tempNameFor(path);
    let written;
    try {
      written = await writeTempFile(tmp, body, opts.signal);
      if (opts.ifNoneMatch === '*') {
        try {
          await link(tmp, path);
        } catch (err) {
          if (isErrno(err, 'EEXIST')) throw conflict(key, 'already exists (create-if-absent refused)');
          throw err;
        }
        await unlink(tmp);
      } else {
        const release = await lockKeyFile(path, options.lock);
        try {
          if (opts.ifMatch !== undefined) {
            const cur = await currentEtag(path);
            if (cur !== normaliseEtag(opts.ifMatch)) {
              throw conflict(key, cur === undefined ? 'does not exist (compare-and-swap refused)' : 'etag changed');
            }
          }
          await rename(tmp, path).catch((err: unknown) => {
            if (!isErrno(err, 'EISDIR')) throw err;
            throw new UnsupportedOperationError(`put ${key} in ${url}: this key is a prefix of other keys`, { url, key });
          });
        } finally {
          await release();
        }
      }
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    await fsyncDir(dir);
    await writeEtag(path, written.stat, written.etag);
    return { etag: written.etag };
  }

  async function head(key: string): Promise<ObjectInfo> {
    const path = keyPath(base, key);
    const fh = await openIfExists(path);
    if (fh === undefined) throw notFound(key);
    try {
      const { etag, stat } = await readEtag(path, fh);
      return { key, size: Number(stat.size), etag, lastModified: new Date(Number(stat.mtimeMs)) };
    } finally {
      await fh.close();
    }
  }

  async function list(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
    checkPrefix(prefix);
    const limit = Math.max(1, Math.min(opts.limit ?? 1000, 1000));
    const items: ObjectInfo[] = [];
    let more = false;
    for await (const key of walkKeys(base, prefix, opts.cursor)) {
      if (items.length === limit) {
        more = true;
        break;
      }
      try {
        items.push(await head(key));
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err; // deleted while listing: not part of the page
      }
    }
    const last = items.at(-1);
    return more && last !== undefined ? { items, cursor: last.key } : { items };
  }

  async function del(key: string, opts: { ifMatch?: string } = {}): Promise<void> {
    refuseReadOnly('delete', key);
    const path = keyPath(base, key);
    const release = await lockKeyFile(path, options.lock).catch((err: unknown) => {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return undefined; // no parent directory: nothing to delete
      throw err;
    });
    if (release === undefined) {
      if (opts.ifMatch !== undefined) throw conflict(key, 'does not exist (conditional delete refused)');
      return;
    }
    try {
      if (opts.ifMatch !== undefined) {
        const cur = await currentEtag(path);
        if (cur !== normaliseEtag(opts.ifMatch)) {
          throw conflict(key, cur === undefined ? 'does not exist (conditional delete refused)' : 'etag changed');
        }
      }
      try {
        await unlink(path);
      } catch (err) {
        // A directory is a key prefix, not a key: deleting it is a no-op, as on S3.
        if (!isErrno(err, 'ENOENT', 'EISDIR')) throw err;
        return;
      }
      await dropEtag(path);
    } finally {
      await release();
    }
    await fsyncDir(dirname(path));
  }

  // Disk errors (EIO, ENOSPC, EACCES, a stale NFS handle) surface as TransportError naming key and store.
  const guard =
    <A extends unknown[], R>(op: string, fn: (key: string, ...rest: A) => Promise<R>) =>
    async (key: string, ...rest: A): Promise<R> => {
      try {
        return await fn(key, ...rest);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException | null)?.code;
        if (err instanceof FlotillaError || typeof code !== 'string' || !code.startsWith('E')) throw err;
        throw new TransportError(`${op} ${key} in ${url}: ${code}`, { url, key, op, errno: code }, { cause: err });
      }
    };

  return {
    url,
    capabilities: { write: writable, list: true, conditionalWrites: 'probe' },
    get: guard('get', get),
    localPath: (key: string) => keyPath(base, key),
    getBytes: guard('get', getBytes),
    getIfChanged: guard('get', getIfChanged),
    put: guard('put', put),
    head: guard('head', head),
    list: guard('list', list),
    delete: guard('delete', del),
    isNotFound: (err) => err instanceof NotFoundError,
    async close() {},
  };
}
