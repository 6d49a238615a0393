import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Flushes a file's bytes, or a directory's entries, to disk: a rename of it, or inside it, then survives a power cut. */
export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Flushes a directory's entries to disk, so a rename inside it survives a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  await fsyncPath(dir);
}

/** A unique temporary name beside `path` (same directory, so rename is atomic). Starts with `.tmp-`. */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.tmp-${basename(path)}-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/**
 * Writes `data` to `path` atomically: temp file in the same directory, fsync, rename, fsync of the directory.
 * A crash leaves either the old file or the new one, never a part. The temp file is removed on failure.
 * `tempName` names the temp (a directory whose stale temps someone sweeps may need its writer in the name).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, tempName: (path: string) => string = tempNameFor): Promise<void> {
  const tmp = tempName(path);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
}
