import type { Writable } from 'node:stream';

/**
 * Watches the process's stdout and stderr for EPIPE (the reader went away: `flotilla log | head -1`).
 * Node ignores SIGPIPE, so without a listener the failed write is an uncaught 'error' and a stack trace.
 * On the first EPIPE of stdout, `onBroken` runs (main aborts the verb, and exits 141 as a process ended by
 * SIGPIPE would); stderr's, and later errors of a stream already broken, are dropped: there is no one left
 * to tell.
 */
export function watchBrokenPipe(stdout: Writable, stderr: Writable, onBroken: () => void): { happened(): boolean } {
  let broken = false;
  stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (broken) return;
    if (err.code !== 'EPIPE') throw err;
    broken = true;
    onBroken();
  });
  stderr.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  return { happened: () => broken };
}
