import { readlink, rename, rm, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { GenerationError } from '../errors/index.js';
import { fsyncDir } from '../util/atomic-write.js';
import { currentTarget, parseGenerationDirName, tempName } from './layout.js';
import { NO_CRASH_POINTS, type CrashPoint, type CrashPoints } from './crash-points.js';

/** Crash points fired by a link swap, so a switch and a rollback can be killed at each step. */
export interface SwapPoints {
  afterTempLink: CrashPoint;
  afterRename: CrashPoint;
}

/**
 * Points `link` at `target` atomically: a symlink under a unique temp name in the same directory, renamed
 * over `link`, then an fsync of the directory. A reader resolving `link` sees the old target or the new
 * one, never ENOENT. The temp link is removed on failure; fs errors propagate.
 */
export async function replaceSymlink(target: string, link: string, crash: CrashPoints = NO_CRASH_POINTS, points?: SwapPoints): Promise<void> {
  const tmp = join(dirname(link), tempName(basename(link)));
  try {
    await symlink(target, tmp);
    if (points) crash.hit(points.afterTempLink);
    await rename(tmp, link);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  if (points) crash.hit(points.afterRename);
  await fsyncDir(dirname(link));
}

/** Removes `link` (if present) and fsyncs its directory. */
export async function removeSymlink(link: string): Promise<void> {
  try {
    await unlink(link);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await fsyncDir(dirname(link));
}

/** What `current` points to: the generation dir name and number, or undefined when it is absent. */
export interface CurrentLink {
  dirName: string;
  number: number;
}

/**
 * Reads sets/SET/current. Undefined when there is none; a GenerationError naming the file when it is not
 * a symlink of the form `generations/N-<short>` (something other than us wrote it).
 */
export async function readCurrent(current: string): Promise<CurrentLink | undefined> {
  let target: string;
  try {
    target = await readlink(current);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EINVAL') throw new GenerationError(`${current} is not a symlink`, { file: current });
    throw err;
  }
  const dirName = target.startsWith('generations/') ? target.slice('generations/'.length) : '';
  const parsed = parseGenerationDirName(dirName);
  if (!parsed || currentTarget(dirName) !== target) {
    throw new GenerationError(`${current} points to ${JSON.stringify(target)}, not generations/N-<digest>`, { file: current, target });
  }
  return { dirName, number: parsed.number };
}
