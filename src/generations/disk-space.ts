import { statfsSync } from 'node:fs';
import { DiskFullError } from '../errors/index.js';
import { isDiskFull } from '../errors/system-error.js';

/** Port: free bytes available to us on the filesystem holding `dir`. */
export interface DiskSpace {
  freeBytes(dir: string): Promise<number>;
}

/**
 * The real adapter: statfs(2), blocks available to unprivileged users. Called synchronously: the call
 * takes microseconds, while through libuv's pool it may wait behind other file work for milliseconds (a
 * cold fetch's, between planning and its first object request).
 */
export const STATFS_DISK_SPACE: DiskSpace = {
  freeBytes: (dir: string): Promise<number> =>
    new Promise((resolve) => {
      const s = statfsSync(dir);
      resolve(s.bavail * s.bsize);
    }),
};

/**
 * Fails early, before anything is written, when `dir` has less than `needed` bytes free: a DiskFullError
 * naming the directory, what needs the room (`what`, e.g. "staging") and both figures.
 */
export async function ensureFreeSpace(space: DiskSpace, dir: string, needed: number, what = 'staging'): Promise<void> {
  const free = await space.freeBytes(dir);
  if (free < needed) {
    throw new DiskFullError(`not enough disk space in ${dir}: ${what} needs ${needed} bytes, ${free} bytes free`, {
      dir,
      freeBytes: free,
      neededBytes: needed,
      errno: 'ENOSPC',
    });
  }
}

/**
 * Wraps a disk-full fs error (ENOSPC, EDQUOT, also when a fs-op runner reports it by `code`) in a
 * DiskFullError naming `dir` and what was being done; other errors and DiskFullErrors are returned unchanged.
 */
export function diskFullError(err: unknown, dir: string, what = 'staging'): unknown {
  if (!isDiskFull(err)) return err;
  const errno = (err as NodeJS.ErrnoException).code;
  return new DiskFullError(`disk full while ${what} in ${dir}: ${(err as Error).message}`, { dir, errno }, { cause: err });
}
