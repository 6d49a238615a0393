import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { chmod, copyFile, link, mkdir, rename, symlink } from 'node:fs/promises';
import { runPool } from '../util/run-pool.js';
import { runFsOps, type FsOp, type FsOpResult } from './fs-ops.js';

/** Independent steps in flight at once: enough to keep libuv's four threads busy. */
const LANES = 16;

/** The `adopt` step of runFsOps (fs-ops.ts) through libuv's pool. */
async function adopt(o: Extract<FsOp, { op: 'adopt' }>): Promise<void> {
  if (o.mode !== undefined) await chmod(o.from, o.mode);
  const linkIn = async (): Promise<void> => {
    try {
      await link(o.from, o.dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      await link(o.from, o.tmp);
      await rename(o.tmp, o.dest);
    }
  };
  try {
    await linkIn();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      await mkdir(o.dest.slice(0, o.dest.lastIndexOf('/')), { recursive: true });
      await linkIn();
    } else if (code !== 'EMLINK') throw err;
  }
}

/** One step through libuv's pool, with the semantics of runFsOps (fs-ops.ts); steps it has no async form for run synchronously. */
async function runOne(o: FsOp): Promise<FsOpResult> {
  try {
    switch (o.op) {
      case 'commit':
        if (o.mode !== undefined) await chmod(o.tmp, o.mode);
        try {
          await rename(o.tmp, o.dest);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          await mkdir(o.dest.slice(0, o.dest.lastIndexOf('/')), { recursive: true });
          await rename(o.tmp, o.dest);
        }
        return { ok: true };
      case 'adopt':
        await adopt(o);
        return { ok: true };
      case 'link':
        try {
          await link(o.from, o.to);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EMLINK') throw err;
          await copyFile(o.from, o.to, fs.constants.COPYFILE_EXCL);
        }
        return { ok: true };
      case 'symlink':
        await symlink(o.target, o.path);
        return { ok: true };
      case 'chmod':
        await chmod(o.path, o.mode);
        return { ok: true };
      default:
        return runFsOps(fs, crypto, [o], Buffer.alloc(0))[0] ?? { ok: false, code: 'EIO', message: 'no result' };
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, code: typeof e.code === 'string' ? e.code : 'EIO', message: e.message };
  }
}

/**
 * Runs independent steps (renames into the cache, the links of package trees) through libuv's pool, every
 * one of them, results in order. For fetches without worker threads (from a network store): thousands of
 * renames and links on the main thread cost it hundreds of milliseconds that the pool's threads can take
 * on the other core.
 */
export async function runSpreadAsync(ops: readonly FsOp[]): Promise<FsOpResult[]> {
  return runPool(ops, LANES, runOne);
}
