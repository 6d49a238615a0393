import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';

/** A shell kept to run `sync -f DIR` when asked (util/early-writeback.ts). */
export interface FlushShell {
  /** Runs one `sync -f DIR`; true once it succeeded, false when it failed or the shell is gone. */
  flush(): Promise<boolean>;
  /** Lets the shell end (after any flush it still runs). */
  close(): void;
}

// One line in per flush, one line out when it is done: 0 when `sync -f` succeeded.
const SCRIPT = 'while read -r _; do if sync -f "$1"; then echo 0; else echo 1; fi; done';

/**
 * A shell, started once, that runs `sync -f dir` for each flush asked for. Why not a `sync -f` process per
 * flush: Node forks this whole process for each one, ~6.5 ms of the calling thread with a fetch's 60 MB
 * mapped (measured here), and every page it then writes faults once, copy-on-write; a fetch that writes on
 * its main thread does that on the thread its downloads wait for. Here that costs one line on a pipe.
 * The shell keeps nothing alive (unref'd) and ends when its input closes: at `close`, or with this
 * process. A flush that succeeded covers everything written before it was asked for (its `sync -f`
 * starts after the request, queued behind any still running); one that failed vouches for nothing, and
 * the caller's last flush (flush-filesystem.ts) is the one that reports errors.
 */
export function startFlushShell(dir: string): FlushShell {
  const child = spawn('sh', ['-c', SCRIPT, 'flotilla-flush', dir], { stdio: ['pipe', 'pipe', 'ignore'] });
  const waiting: Array<(ok: boolean) => void> = [];
  let gone = false;
  let pending = '';
  const end = (): void => {
    gone = true;
    for (const w of waiting.splice(0)) w(false);
  };
  child.once('error', end);
  child.once('close', end);
  child.stdin.on('error', () => undefined); // EPIPE once the shell is gone: 'close' settles its flushes
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (s: string) => {
    pending += s;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      waiting.shift()?.(line === '0');
    }
  });
  // Its pipes are sockets (stdio 'pipe'), typed as plain streams.
  child.unref();
  (child.stdout as unknown as Socket).unref();
  (child.stdin as unknown as Socket).unref();
  return {
    flush: () =>
      gone
        ? Promise.resolve(false)
        : new Promise((resolve) => {
            waiting.push(resolve);
            child.stdin.write('\n');
          }),
    close: () => {
      if (!gone) child.stdin.end();
    },
  };
}
