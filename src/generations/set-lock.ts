import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { link, mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DiskFullError, LockedError } from '../errors/index.js';
import { isDiskFull } from '../errors/system-error.js';
import { isLockLeftover, lockDeadName, lockTempName, setPaths } from './layout.js';
import { judgeProcess, ownIdentity, type ProcessIdentity } from './process-identity.js';

/** What a lock file holds: who took it, why and when. */
export interface LockHolder extends ProcessIdentity {
  token: string;
  host: string;
  purpose: string;
  since: string;
}

/** Releases a held lock. Calling it twice is harmless. */
export type ReleaseLock = () => Promise<void>;

/** Options for taking a set lock. */
export interface LockOptions {
  /** Give up after this long with a LockedError naming the holder (default 30 s). */
  timeoutMs?: number;
  /** Shown to a waiter in its LockedError, e.g. "agent tick" or "cli rollback". */
  purpose?: string;
}

const STALE_LEFTOVER_MS = 3_600_000;
const BREAKER_GRACE_MS = 10_000;
const held = new AsyncLocalStorage<Set<string>>();
// Leftover lock names are swept once per set dir per process: enough, and it keeps a switch cheap.
const swept = new Set<string>();

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** Reads a lock file: its holder, 'gone' when absent, 'unreadable' when not a lock record. */
export async function readHolder(file: string): Promise<LockHolder | 'gone' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (errno(err) === 'ENOENT') return 'gone';
    throw err;
  }
  try {
    const h = JSON.parse(text) as LockHolder;
    return typeof h.pid === 'number' && typeof h.token === 'string' && /^[0-9a-f]{16,64}$/.test(h.token) ? h : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/**
 * Breaks a dead holder's lock; true when the lock is gone (or changed) and acquiring may be retried.
 * Only one breaker per dead token can win: each first hard-links the lock to `.lock-dead-<token>`, which
 * fails with EEXIST for everyone but the first. The dead names stay for an hour so that a slow breaker who
 * read the same token cannot later remove a fresh lock. A breaker killed between its link and its unlink
 * leaves both names on one inode: after BREAKER_GRACE_MS another breaker finishes its work.
 */
export async function breakLock(lock: string, dir: string, token: string): Promise<boolean> {
  const dead = join(dir, lockDeadName(token));
  try {
    await link(lock, dead);
  } catch (err) {
    if (errno(err) === 'ENOENT') return true;
    if (errno(err) !== 'EEXIST') throw err;
    const [a, b] = await Promise.all([stat(lock).catch(() => undefined), stat(dead).catch(() => undefined)]);
    if (a === undefined || b === undefined || a.ino !== b.ino) return true;
    if (Date.now() - b.ctimeMs < BREAKER_GRACE_MS) return false;
  }
  const [a, b] = await Promise.all([stat(lock).catch(() => undefined), stat(dead)]);
  if (a !== undefined && a.ino === b.ino) await unlink(lock).catch(() => undefined);
  return true;
}

async function sweepLeftovers(dir: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!isLockLeftover(name)) continue;
    const st = await stat(join(dir, name)).catch(() => undefined);
    if (st && now - st.mtimeMs > STALE_LEFTOVER_MS) await unlink(join(dir, name)).catch(() => undefined);
  }
}

/**
 * Creates `lock` holding `holder`, unless it exists (false). DiskFullError when the record cannot be written.
 */
export async function tryCreate(lock: string, dir: string, holder: LockHolder): Promise<boolean> {
  // Write the whole record under a private name, then link it into place: a lock file is never seen half
  // written by a live reader, and link(2) fails with EEXIST when another actor holds the lock.
  const tmp = join(dir, lockTempName(holder.token));
  try {
    await writeFile(tmp, JSON.stringify(holder), { flag: 'wx' });
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    if (!isDiskFull(err)) throw err;
    throw new DiskFullError(`disk full: cannot write the lock file in ${dir}`, { dir, errno: (err as NodeJS.ErrnoException).code }, { cause: err });
  }
  try {
    await link(tmp, lock);
    return true;
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/**
 * Takes the lock of one set (sets/SET/lock), serialising local actors (an agent tick, a CLI rollback).
 * The lock dies with its holder: a lock whose process is gone (kill -9, reboot, reused pid) is broken
 * safely. Waits up to `timeoutMs`, then throws LockedError naming the holder's pid, purpose and start;
 * DiskFullError when the disk is too full to write the lock file.
 * Returns the release function.
 */
export async function acquireSetLock(stateDir: string, set: string, options: LockOptions = {}): Promise<ReleaseLock> {
  const { setDir: dir, lock } = setPaths(stateDir, set);
  await mkdir(dir, { recursive: true });
  const me = await ownIdentity();
  const holder: LockHolder = {
    ...me,
    token: randomBytes(8).toString('hex'),
    host: hostname(),
    purpose: options.purpose ?? 'flotilla',
    since: new Date().toISOString(),
  };
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let delay = 1;
  for (;;) {
    if (await tryCreate(lock, dir, holder)) break;
    const other = await readHolder(lock);
    if (other === 'gone') continue;
    const token = other === 'unreadable' ? `ino${(await stat(lock).catch(() => ({ ino: 0 }))).ino}` : other.token;
    const dead = other === 'unreadable' || (await judgeProcess(other)) === 'dead';
    if (dead && (await breakLock(lock, dir, token))) continue;
    if (Date.now() >= deadline) {
      if (other === 'unreadable') throw new LockedError(`set ${set}: the lock file ${lock} is unreadable and could not be broken`, { set, file: lock });
      const who = `pid ${other.pid} on ${other.host} (${other.purpose}) since ${other.since}${dead ? ', which is dead but whose lock is being broken' : ''}`;
      throw new LockedError(`set ${set} is locked by ${who}: ${lock}`, { set, file: lock, pid: other.pid, host: other.host, purpose: other.purpose, since: other.since });
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
  if (!swept.has(dir)) {
    swept.add(dir);
    await sweepLeftovers(dir);
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    const now = await readHolder(lock);
    if (typeof now === 'object' && now.token === holder.token) await unlink(lock);
  };
}

/**
 * Runs `fn` while holding the set lock and releases it afterwards, even when `fn` throws.
 * Re-entrant within one async call chain: generation functions call it themselves, and a caller that
 * already holds the lock (a reconcile tick wrapping stage + switch + commit) does not deadlock.
 */
export async function withSetLock<T>(stateDir: string, set: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const key = resolve(setPaths(stateDir, set).lock);
  const mine = held.getStore();
  if (mine?.has(key)) return fn();
  const release = await acquireSetLock(stateDir, set, options);
  try {
    return await held.run(new Set([...(mine ?? []), key]), fn);
  } finally {
    await release();
  }
}
