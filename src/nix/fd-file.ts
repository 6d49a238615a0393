import { close, closeSync, constants, fchmod, fchmodSync, fdatasync, futimes, futimesSync, open, openSync, writev, writevSync } from 'node:fs';

// Why raw descriptors and callbacks rather than fs/promises' FileHandle: a NAR is mostly small files, and
// per file a FileHandle costs an object with a GC finalizer, a promise per call and a close that goes
// through its own request; a cold 150 MB fetch spent ~0.09 s of CPU in FileHandle's close alone (perf,
// docs/nix.md "Cold, measured"). Here a small file is five synchronous calls, and a large file's steps one
// chain of callbacks and one promise.

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
/** Exclusive create that never follows a link: fails on any existing name. */
const CREATE_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;

/** What is left of `chunks` after a (possibly partial) writev of `n` bytes. */
function remainder(chunks: readonly Buffer[], n: number): Buffer[] {
  const rest: Buffer[] = [];
  for (const c of chunks) {
    if (n >= c.length) n -= c.length;
    else {
      rest.push(n > 0 ? c.subarray(n) : c);
      n = 0;
    }
  }
  return rest;
}

/** Creates `path` exclusively (O_CREAT|O_EXCL|O_NOFOLLOW) with `mode`; resolves to its descriptor. */
export function createExclusive(path: string, mode: number): Promise<number> {
  return new Promise((resolve, reject) => open(path, CREATE_FLAGS, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
}

/** Writes all of `chunks` at the descriptor's position (retrying short writes); resolves to the bytes written. */
export function writeAll(fd: number, chunks: Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => writeAllThen(fd, chunks, 0, (err, n) => (err ? reject(err) : resolve(n))));
}

function writeAllThen(fd: number, chunks: Buffer[], done: number, cb: (err: Error | null, n: number) => void): void {
  if (chunks.length === 0) return cb(null, done);
  writev(fd, chunks, (err, n) => {
    if (err) return cb(err, done);
    // A regular file never takes 0 bytes of a nonempty write without an error; never spin on one that does.
    if (n === 0 && chunks.some((c) => c.length > 0)) return cb(new Error(`writev on fd ${fd} wrote nothing`), done);
    writeAllThen(fd, remainder(chunks, n), done + n, cb);
  });
}

/**
 * Writes all of `chunks` at the descriptor's position on this thread (retrying short writes); returns the
 * bytes written. `what` names the file in an error.
 */
export function writeAllSync(fd: number, chunks: Buffer[], what: string): number {
  let n = 0;
  for (let left = chunks; left.length > 0; ) {
    const w = writevSync(fd, left);
    if (w === 0 && left.some((c) => c.length > 0)) throw new Error(`writev of ${what} wrote nothing`);
    n += w;
    left = remainder(left, w);
  }
  return n;
}

/** fdatasync(2) of `fd`, on libuv's pool. */
export function syncData(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

/**
 * Ends a file written through `fd`: `chmodTo` applied when given (the umask kept the mode from open),
 * mtime and atime set to `mtime`, the descriptor closed (also when a step before failed; that failure wins).
 */
export function finishFile(fd: number, mtime: number, chmodTo?: number): Promise<void> {
  return new Promise((resolve, reject) => finishThen(fd, mtime, chmodTo, (err) => (err ? reject(err) : resolve())));
}

function finishThen(fd: number, mtime: number, chmodTo: number | undefined, cb: (err: Error | null) => void): void {
  const closeWith = (first: Error | null): void => close(fd, (err) => cb(first ?? err));
  const stamp = (): void => futimes(fd, mtime, mtime, closeWith);
  if (chmodTo === undefined) return stamp();
  fchmod(fd, chmodTo, (err) => (err ? closeWith(err) : stamp()));
}

/** Closes `fd`, ignoring errors: after a failure that is already being reported. */
export function closeQuietly(fd: number): Promise<void> {
  return new Promise((resolve) => close(fd, () => resolve()));
}

/**
 * Creates `path` exclusively with `mode` (or 0600 and then `chmodTo`), writes `chunks`, sets mtime, closes,
 * all on the calling thread: for a small file each step takes microseconds, less than a hop to libuv's pool
 * and back. The create used to go to the pool (it allocates an inode, which can take a millisecond on a
 * busy ext4), but once large files were written with O_DIRECT, synchronous creates were faster in every
 * A/B (docs/nix.md). Returns the bytes written; throws the first error (the descriptor is closed either way).
 */
export function writeSmallFileSync(path: string, mode: number, chunks: Buffer[], mtime: number, chmodTo?: number): number {
  const fd = openSync(path, CREATE_FLAGS, mode);
  try {
    const n = writeAllSync(fd, chunks, path);
    if (chmodTo !== undefined) fchmodSync(fd, chmodTo);
    futimesSync(fd, mtime, mtime);
    return n;
  } finally {
    closeSync(fd);
  }
}
