import { randomBytes } from 'node:crypto';
import { chmod, copyFile, link, lstat, mkdir, readdir, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { digestHex } from '../store/digest.js';
import type { LoadedManifest } from '../packages/manifest-types.js';
import { runPool } from '../packages/run-pool.js';
import { fsyncDir } from '../util/atomic-write.js';
import { flushFilesystem } from './flush-filesystem.js';
import { isPidAlive, type ObjectCache } from './object-cache.js';

const PARTIAL_PREFIX = '.partial-';

/** The final directory name of a package under stateDir/store: `<hex>-<name>`. */
export function packageDirName(p: LoadedManifest): string {
  return `${digestHex(p.digest)}-${p.manifest.name}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Removes a tree we built, making read-only directories writable first. */
export async function removeTree(path: string): Promise<void> {
  try {
    const st = await lstat(path);
    if (st.isDirectory()) {
      await chmod(path, 0o755);
      for (const n of await readdir(path)) await removeTree(join(path, n));
    }
  } catch {
    // already gone
  }
  await rm(path, { recursive: true, force: true });
}

/** Removes `.partial-<pid>-…` directories under `storeDir` whose process is gone (a crash or kill -9). */
export async function removeStalePartials(storeDir: string): Promise<void> {
  for (const n of await readdir(storeDir)) {
    if (!n.startsWith(PARTIAL_PREFIX)) continue;
    const pid = Number(n.slice(PARTIAL_PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || !isPidAlive(pid)) await removeTree(join(storeDir, n));
  }
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    // EMLINK: an object linked from very many places (ext4 caps an inode at 65,000 links).
    if ((err as NodeJS.ErrnoException).code !== 'EMLINK') throw err;
    await copyFile(from, to);
  }
}

/**
 * Materialises a package at storeDir/<hex>-<name>/ from the cache (every object must already be there):
 * hardlinks into a `.partial-<pid>-…` directory, directories made 0555 (files are 0444/0555 in the cache),
 * one filesystem flush, one rename to the final name, fsync of storeDir. An existing final directory is reused as is.
 * A crash leaves at most a partial directory, never an incomplete final one. Returns the final path.
 */
export async function materialisePackage(storeDir: string, cache: ObjectCache, p: LoadedManifest, durable = true): Promise<string> {
  const final = join(storeDir, packageDirName(p));
  if (await exists(final)) return final;
  const partial = join(storeDir, `${PARTIAL_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}-${packageDirName(p)}`);
  try {
    await mkdir(partial, { mode: 0o755 });
    const dirs: string[] = [];
    for (const e of p.manifest.entries) {
      if (e.type !== 'dir') continue;
      await mkdir(join(partial, e.path), { mode: 0o755 });
      dirs.push(e.path);
    }
    await runPool(p.manifest.entries, 32, async (e) => {
      if (e.type === 'file') await linkOrCopy(cache.path(e.digest, e.executable), join(partial, e.path));
      else if (e.type === 'symlink') await symlink(e.target, join(partial, e.path));
    });
    // Deepest first, so a parent turns read-only only after its children are done.
    for (const d of dirs.reverse()) await chmod(join(partial, d), 0o555);
    await chmod(partial, 0o555);
    // One syncfs makes every entry and mode durable before the rename publishes the directory.
    if (durable) await flushFilesystem(partial, [partial, ...dirs.map((d) => join(partial, d))]);
    try {
      await rename(partial, final);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Another fetch finished the same package first: theirs is complete, use it.
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await exists(final))) {
        await removeTree(partial);
        return final;
      }
      throw err;
    }
    await fsyncDir(storeDir);
    return final;
  } catch (err) {
    await removeTree(partial);
    throw err;
  }
}
