import { spawn } from 'node:child_process';
import { CHILD } from './fixture.js';

/** How a child ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs test/generations/fixtures/child.mjs MODE ARGS as a real node process. `killAfterMs` sends SIGKILL
 * from outside after that delay (random-moment crashes); `crashAt` makes the child kill itself at a point.
 */
export function runChild(mode: string, args: unknown, opts: { crashAt?: string; killAfterMs?: number } = {}): Promise<ChildExit> {
  const env = { ...process.env, FLOTILLA_CRASH_AT: opts.crashAt ?? '' };
  const child = spawn(process.execPath, [CHILD, mode, JSON.stringify(args)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = opts.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
