import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { runPool } from './run-pool.js';

let syncfsWorks: boolean | undefined;

/**
 * Makes every write on the filesystem holding `dir` durable with one syncfs(2) (coreutils `sync -f`):
 * one flush for a whole batch of objects instead of one fsync per file, which on a busy VM disk costs
 * seconds per thousand files. Where `sync -f` is unavailable, fsyncs each of `files` instead. Throws the
 * fsync errors.
 */
export async function flushFilesystem(dir: string, files: string[]): Promise<void> {
  if (syncfsWorks !== false) {
    try {
      // node:child_process is loaded here, on the first flush: a fetch with nothing to write never needs it.
      const { execFile } = await import('node:child_process');
      await promisify(execFile)('sync', ['-f', dir], { timeout: 120_000 });
      syncfsWorks = true;
      return;
    } catch {
      syncfsWorks = false;
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
