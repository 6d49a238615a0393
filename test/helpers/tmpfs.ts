import { execFileSync } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Mounts a tmpfs of `size` (e.g. "4m") on a fresh temp dir: a real small filesystem for full-disk tests.
 * Throws, naming the reason, when mounting is impossible (not root, no CAP_SYS_ADMIN): such a test must
 * fail, not skip. `cleanup` unmounts and removes the directory.
 */
export async function mountTmpfs(size: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  return mountFs('tmpfs', ['-o', `size=${size}`]);
}

/**
 * Mounts a ramfs (no size limit) on a fresh temp dir: a real filesystem that refuses O_DIRECT (tmpfs
 * accepts it since Linux 6.6), for the paths that must work without it. Throws as mountTmpfs does.
 */
export function mountRamfs(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  return mountFs('ramfs', []);
}

async function mountFs(type: 'tmpfs' | 'ramfs', options: string[]): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `flotilla-${type}-`));
  try {
    execFileSync('mount', ['-t', type, ...options, type, dir], { stdio: 'pipe' });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`this test needs a real ${type} filesystem: "mount -t ${type}" failed (run the suite as root): ${(err as Error).message}`);
  }
  return {
    dir,
    cleanup: async () => {
      execFileSync('umount', ['-l', dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the filesystem holding `dir` to the last byte with a file named `name`, then frees `leave` bytes. */
export async function fillFilesystem(dir: string, leave = 0, name = 'filler'): Promise<void> {
  const fh = await open(join(dir, name), 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) await fh.write(chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    // A write may stop short of the last block: fill it byte-exact with smaller writes.
    for (const n of [4096, 1]) {
      try {
        for (;;) await fh.write(Buffer.alloc(n, 1));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
      }
    }
    await fh.truncate(Math.max(0, (await fh.stat()).size - leave));
  } finally {
    await fh.close();
  }
}
