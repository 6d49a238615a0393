import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { EarlyWriteback } from './early-writeback.js';
import { runPool } from './run-pool.js';

let syncfsWorks: boolean | undefined;
const SYNCFS_TIMEOUT_MS = 120_000;

/**
 * Whether `sync -f` failed in a way that will not change: this machine cannot run it (no `sync` on PATH,
 * or one without -f), or it outran its deadline (syncfs writes back every process's data on the
 * filesystem, and here that is too much). Only then is it never tried again; after any other failure
 * (an I/O error reported once) the next flush tries it again.
 */
function syncfsUnusable(err: unknown): boolean {
  const e = err as { code?: unknown; stderr?: unknown; killed?: unknown };
  if (e.code === 'ENOENT' || e.code === 'EACCES' || e.killed === true) return true;
  return typeof e.stderr === 'string' && /invalid option|unrecognized option|illegal option/i.test(e.stderr);
}

/** How `shell`'s flush went, or 'late' once `ms` passed without it. */
async function within(shell: Promise<boolean>, ms: number): Promise<'ok' | 'failed' | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
    return await Promise.race([shell.then((ok) => (ok ? 'ok' : 'failed')), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Makes every write on the filesystem holding `dir` durable with one syncfs(2) (coreutils `sync -f`):
 * one flush for a whole batch of objects instead of one fsync per file, which on a busy VM disk costs
 * seconds per thousand files. Where `sync -f` is unavailable, or fails, fsyncs each of `files` instead.
 * `timeoutMs` bounds `sync -f`. Throws the fsync errors. `kept`: the fetch's early writeback, whose shell,
 * when one runs for `dir`'s filesystem, runs the `sync -f` rather than a fork of this process (~6.5 ms of
 * the calling thread with a fetch's 60 MB mapped, on the path of every fetch that writes; early-writeback.ts).
 */
export async function flushFilesystem(dir: string, files: string[], timeoutMs = SYNCFS_TIMEOUT_MS, kept?: Pick<EarlyWriteback, 'flushFor'>): Promise<void> {
  if (syncfsWorks !== false) {
    const shell = kept?.flushFor(dir);
    const how = shell === undefined ? undefined : await within(shell, timeoutMs);
    if (how === 'ok') {
      syncfsWorks = true;
      return;
    }
    // A failed one vouches for nothing: a `sync -f` of its own then, which says what failed. A late one is
    // a syncfs too slow here, as a `sync -f` killed at its deadline: the files are fsynced, never again it.
    if (how === 'late') syncfsWorks = false;
  }
  if (syncfsWorks !== false) {
    try {
      // node:child_process is loaded here, on the first flush: a fetch with nothing to write never needs it.
      const { execFile } = await import('node:child_process');
      await promisify(execFile)('sync', ['-f', dir], { timeout: timeoutMs });
      syncfsWorks = true;
      return;
    } catch (err) {
      // This flush falls back to fsyncing each file, which reports an I/O error as its own. One transient
      // failure must not turn syncfs off for the rest of a long-lived agent (every later flush one fsync
      // per file): the early writeback's flush fails along with any writeback error, for one.
      if (syncfsUnusable(err)) syncfsWorks = false;
    }
  }
  await runPool(files, 16, async (f) => {
    const fh = await open(f, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
}
