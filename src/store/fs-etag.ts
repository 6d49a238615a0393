import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { constants, type BigIntStats, type Stats } from 'node:fs';

/**
 * Etags of the directory store: the sha256 hex of an object's bytes. `put` computes it while writing and
 * leaves it in a sidecar `.etag-NAME` stamped with the data file's inode, size and mtime; a reader trusts the
 * sidecar only when the stamp matches the file it opened, and otherwise re-hashes the file. So a stale or
 * torn sidecar (crash, concurrent writer, file replaced by hand) costs a re-hash, never a wrong etag.
 */

type Stamp = Pick<BigIntStats, 'ino' | 'size' | 'mtimeNs'>;

const MAX_CACHE = 20_000;
const cache = new Map<string, string>();

function stampOf(st: Stamp): string {
  return `${st.ino} ${st.size} ${st.mtimeNs}`;
}

function sidecarPath(path: string): string {
  return join(dirname(path), `.etag-${basename(path)}`);
}

function remember(path: string, st: Stamp, etag: string): void {
  if (cache.size >= MAX_CACHE) cache.clear();
  cache.set(`${path}\0${stampOf(st)}`, etag);
}

async function hashHandle(fh: FileHandle): Promise<string> {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  let pos = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) break;
    h.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return h.digest('hex');
}

/**
 * The etag and stat of the open file `fh` (which is `path`): from the in-process cache, the sidecar, or by
 * hashing the file through the same handle, so the answer always belongs to the bytes that handle reads.
 */
export async function readEtag(path: string, fh: FileHandle): Promise<{ etag: string; stat: BigIntStats }> {
  const st = await fh.stat({ bigint: true });
  const stamp = stampOf(st);
  const cached = cache.get(`${path}\0${stamp}`);
  if (cached !== undefined) return { etag: cached, stat: st };
  const side = await readFile(sidecarPath(path), 'utf8').catch(() => '');
  const [sideStamp, sideEtag] = [side.slice(0, side.lastIndexOf(' ')), side.slice(side.lastIndexOf(' ') + 1)];
  let etag: string;
  if (sideStamp === stamp && /^[0-9a-f]{64}$/.test(sideEtag)) etag = sideEtag;
  else etag = await hashHandle(fh);
  remember(path, st, etag);
  return { etag, stat: st };
}

/**
 * Records the etag of a file just written (stamped with the stat taken from its handle before the rename).
 * Best effort: the sidecar is written atomically (temp + rename) but not fsynced, because a lost or stale
 * sidecar is detected by its stamp and only costs a re-hash.
 */
export async function writeEtag(path: string, st: Stamp, etag: string): Promise<void> {
  remember(path, st, etag);
  const side = sidecarPath(path);
  const tmp = join(dirname(path), `.tmp-etag-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(tmp, `${stampOf(st)} ${etag}`);
    await rename(tmp, side);
  } catch {
    await rm(tmp, { force: true });
  }
}

/** Removes the etag sidecar of a deleted file (best effort). */
export async function dropEtag(path: string): Promise<void> {
  await rm(sidecarPath(path), { force: true });
}

/**
 * Opens `path` read-only; resolves undefined when it does not exist or is not a regular file (a directory
 * is a key prefix, not a key). Other errors are thrown.
 */
export async function openIfExists(path: string): Promise<FileHandle | undefined> {
  return (await openFileIfExists(path))?.fh;
}

/** openIfExists, with the stat it took of the open file (a reader then needs no second one). */
export async function openFileIfExists(path: string): Promise<{ fh: FileHandle; stat: Stats } | undefined> {
  let fh: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer, forever, on one of libuv's
    // threads; it changes nothing for a regular file.
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  const stat = await fh.stat();
  if (stat.isFile()) return { fh, stat };
  await fh.close();
  return undefined;
}
