import { readdir } from 'node:fs/promises';
import { setsDir, withSetLock } from '../generations/index.js';

/** How long a worker start waits for a set's lock another actor holds before it skips that set. */
const WARM_LOCK_TIMEOUT_MS = 50;

/**
 * Takes and releases the lock of every set that has a directory in `stateDir`, once, when a tick worker
 * starts. The first lock a process takes sweeps leftover lock files and reads its own identity (a few ms,
 * see generations/set-lock.ts); a worker retired between ticks would otherwise pay that inside its first
 * switch. A set locked by someone else (a CLI rollback) is skipped. Never throws.
 */
export async function warmSetLocks(stateDir: string): Promise<void> {
  const sets = await readdir(setsDir(stateDir)).catch(() => [] as string[]);
  for (const set of sets) {
    await withSetLock(stateDir, set, () => Promise.resolve(), { timeoutMs: WARM_LOCK_TIMEOUT_MS, purpose: 'agent start' }).catch(() => undefined);
  }
}
