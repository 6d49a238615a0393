import { hostname } from 'node:os';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LockedError } from '../errors/index.js';
import { isPidAlive } from '../util/pid-alive.js';

/** Releases a lock taken by `lockKeyFile`. Safe to call once. */
export type ReleaseLock = () => Promise<void>;

export interface KeyLockOptions {
  /** Give up with LockedError after this long (default 30 s). */
  waitMs?: number;
  /** A lock file older than this is abandoned, whoever wrote it (default 10 s; critical sections are short). */
  staleMs?: number;
}

const HOST = hostname();

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === code;
}


async function tryCreate(path: string): Promise<boolean> {
  try {
    const fh = await open(path, 'wx', 0o644);
    try {
      await fh.writeFile(`${process.pid} ${HOST}\n`);
    } finally {
      await fh.close();
    }
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  }
}

/** True when the lock file was left by a dead process on this host, or is older than `staleMs`. */
async function isStale(path: string, staleMs: number): Promise<{ stale: boolean; ino?: number; mtimeMs?: number }> {
  try {
    const st = await stat(path);
    if (Date.now() - st.mtimeMs > staleMs) return { stale: true, ino: st.ino, mtimeMs: st.mtimeMs };
    const [pid, host] = (await readFile(path, 'utf8')).trim().split(' ');
    const dead = host === HOST && Number(pid) > 0 && !isPidAlive(Number(pid));
    return { stale: dead, ino: st.ino, mtimeMs: st.mtimeMs };
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { stale: false };
    throw err;
  }
}

/**
 * Removes an abandoned lock without racing other breakers: the removal happens under a second O_EXCL file
 * and only if the lock is still the very file judged stale (same inode and mtime), so a fresh lock taken
 * meanwhile by a live process is never removed.
 */
async function breakStale(path: string, ino: number, mtimeMs: number, staleMs: number): Promise<void> {
  const breaker = `${path}.break`;
  if (!(await tryCreate(breaker))) {
    const b = await isStale(breaker, staleMs * 3);
    if (b.stale) await unlink(breaker).catch(() => undefined);
    return;
  }
  try {
    const st = await stat(path).catch(() => undefined);
    if (st !== undefined && st.ino === ino && st.mtimeMs === mtimeMs) await unlink(path).catch(() => undefined);
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Takes the cross-process lock of the file at `path` (a `.lock-NAME` file created with O_EXCL beside it;
 * works on local disks and NFSv3+ mounts). Abandoned locks (dead pid on this host, or older than `staleMs`)
 * are broken. Fails with LockedError after `waitMs`. Returns the release.
 */
export async function lockKeyFile(path: string, options: KeyLockOptions = {}): Promise<ReleaseLock> {
  const lockPath = join(dirname(path), `.lock-${basename(path)}`);
  const staleMs = options.staleMs ?? 10_000;
  const deadline = Date.now() + (options.waitMs ?? 30_000);
  let pause = 1;
  for (;;) {
    if (await tryCreate(lockPath)) break;
    const s = await isStale(lockPath, staleMs);
    if (s.stale && s.ino !== undefined && s.mtimeMs !== undefined) {
      await breakStale(lockPath, s.ino, s.mtimeMs, staleMs);
      continue;
    }
    if (Date.now() > deadline) {
      throw new LockedError(`lock ${lockPath} is held by another writer`, { lock: lockPath });
    }
    await sleep(pause + Math.random() * pause);
    pause = Math.min(pause * 2, 50);
  }
  const mine = await stat(lockPath);
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    // Only remove the file we created: if ours was judged stale and replaced, the new one is not ours.
    const st = await stat(lockPath).catch(() => undefined);
    if (st !== undefined && st.ino === mine.ino) await unlink(lockPath).catch(() => undefined);
  };
}
