import { statfs } from 'node:fs/promises';
import { GenerationError } from '../errors/index.js';

/** Port: free bytes available to us on the filesystem holding `dir`. */
export interface DiskSpace {
  freeBytes(dir: string): Promise<number>;
}

/** The real adapter: statfs(2), blocks available to unprivileged users. */
export const STATFS_DISK_SPACE: DiskSpace = {
  async freeBytes(dir: string): Promise<number> {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  },
};

/** True for the errno values that mean "the disk (or quota) is full". */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * Fails early, before anything is written, when `dir` has less than `needed` bytes free: a GenerationError
 * naming the directory and both figures.
 */
export async function ensureFreeSpace(space: DiskSpace, dir: string, needed: number): Promise<void> {
  const free = await space.freeBytes(dir);
  if (free < needed) {
    throw new GenerationError(`not enough disk space in ${dir}: ${free} bytes free, staging needs about ${needed}`, {
      dir,
      freeBytes: free,
      neededBytes: needed,
      errno: 'ENOSPC',
    });
  }
}

/** Wraps a disk-full fs error in a GenerationError naming `dir`; other errors are returned unchanged. */
export function diskFullError(err: unknown, dir: string): unknown {
  if (!isDiskFull(err)) return err;
  return new GenerationError(`disk full while staging in ${dir}: ${(err as Error).message}`, { dir, errno: (err as NodeJS.ErrnoException).code }, { cause: err });
}
