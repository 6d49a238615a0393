// One agent per state dir: two agents on one state dir would both recover, stage and switch the same sets.
import { randomBytes } from 'node:crypto';
import { stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { LockedError } from '../errors/index.js';
import { agentLockFile } from '../generations/layout.js';
import { identityOf, judgeProcess } from '../generations/process-identity.js';
import { breakLock, readHolder, tryCreate, type LockHolder, type ReleaseLock } from '../generations/set-lock.js';

/** Removes the agent lock of `stateDir` when it still names process `pid`; anything else is left alone. */
export async function releaseStateDirLock(stateDir: string, pid: number): Promise<void> {
  const file = agentLockFile(stateDir);
  const now = await readHolder(file);
  if (typeof now === 'object' && now.pid === pid) await unlink(file).catch(() => undefined);
}

/**
 * Takes the agent's lock on a state dir (STATE/agent.lock), at start, without waiting. `ownerPid` is the
 * process that stands for the agent and is recorded as the holder: this process for `agent --once`, the
 * supervisor for a daemon's tick worker (workers come and go while the daemon lives, so a later worker of
 * the same daemon adopts the lock). A lock whose holder is dead (kill -9, reboot, reused pid) is broken.
 * Throws LockedError naming the holder's pid, host and start when another live agent holds it.
 * Returns the release: it removes the lock only when this process is the owner (a retiring worker leaves
 * its daemon's lock; the supervisor releases it on exit with releaseStateDirLock).
 */
export async function lockStateDir(stateDir: string, ownerPid: number = process.pid): Promise<ReleaseLock> {
  const file = agentLockFile(stateDir);
  const owner = await identityOf(ownerPid);
  const holder: LockHolder = { ...owner, token: randomBytes(8).toString('hex'), host: hostname(), purpose: 'flotilla agent', since: new Date().toISOString() };
  for (;;) {
    if (await tryCreate(file, dirname(file), holder)) break;
    const other = await readHolder(file);
    if (other === 'gone') continue;
    if (typeof other === 'object' && other.pid === owner.pid && other.startTime === owner.startTime) break;
    const token = other === 'unreadable' ? `ino${(await stat(file).catch(() => ({ ino: 0 }))).ino}` : other.token;
    if ((other === 'unreadable' || (await judgeProcess(other)) === 'dead') && (await breakLock(file, dirname(file), token))) continue;
    if (other === 'unreadable') throw new LockedError(`state dir ${stateDir}: the agent lock ${file} is unreadable and could not be broken`, { file });
    throw new LockedError(`state dir ${stateDir} is in use by another flotilla agent: pid ${other.pid} on ${other.host} since ${other.since} (${file})`, {
      file,
      stateDir,
      pid: other.pid,
      host: other.host,
      since: other.since,
    });
  }
  let released = false;
  return async () => {
    if (released || ownerPid !== process.pid) return;
    released = true;
    await releaseStateDirLock(stateDir, ownerPid);
  };
}
