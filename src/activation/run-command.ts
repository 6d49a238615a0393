import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { OutputTail } from './output-tail.js';

/** What to run. A string runs via `/bin/sh -c`; an array is an argv run without a shell. */
export interface CommandSpec {
  argv: readonly string[] | string;
  cwd?: string;
  /** The complete environment of the child (not merged with ours: the caller decides what to pass). */
  env?: Record<string, string>;
  /** After this many ms the whole process group gets SIGTERM, then SIGKILL after `killGraceMs`. */
  timeoutMs: number;
  /** Default 2000 ms. */
  killGraceMs?: number;
  /** Aborting kills the group the same way as a timeout (reported as `aborted`). */
  signal?: AbortSignal;
  /** Bytes of stdout and of stderr kept (the tail). Default 64 KiB each. */
  maxOutputBytes?: number;
  /** Written to the child's stdin, which is then closed (default: no stdin at all). */
  input?: Uint8Array;
}

/** How a command ended. A non-zero exit is data, not an exception. */
export interface CommandResult {
  /** Exit code of the direct child, or null when it died of a signal or never started. */
  exitCode: number | null;
  /** Name of the signal that ended the direct child (e.g. "SIGTERM"), or null. */
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  /** Set when the process could not be started at all (ENOENT, EACCES on argv[0], bad cwd). */
  spawnError?: string;
  stdoutTail: string;
  stderrTail: string;
  durationMs: number;
}

/** The process-runner port: everything that runs commands takes one of these. */
export type CommandRunner = (spec: CommandSpec) => Promise<CommandResult>;

const DEFAULT_MAX_OUTPUT = 64 * 1024;
const DEFAULT_KILL_GRACE_MS = 2000;
// After the direct child exits, output still in the pipes is collected for this long. A background process
// it left behind may hold the pipes open forever, so we stop waiting for end-of-file after this.
const DRAIN_AFTER_EXIT_MS = 200;

/** True when the run ended with exit code 0 and was neither timed out nor aborted. */
export function succeeded(result: CommandResult): boolean {
  return result.exitCode === 0 && !result.timedOut && !result.aborted && result.spawnError === undefined;
}

/**
 * Runs one command in its own process group (detached) and resolves when the direct child exits.
 * On timeout or abort the whole group (children and grandchildren) gets SIGTERM, then SIGKILL after the
 * grace period. Only a bounded tail of stdout/stderr is kept. Never rejects: a non-zero exit, a timeout
 * or a failure to start is reported in the result. Processes the command leaves running in the
 * background after a normal exit are NOT killed (activation may start services that way).
 */
export function runCommand(spec: CommandSpec): Promise<CommandResult> {
  const started = performance.now();
  const argv = typeof spec.argv === 'string' ? ['/bin/sh', '-c', spec.argv] : [...spec.argv];
  const stdout = new OutputTail(spec.maxOutputBytes ?? DEFAULT_MAX_OUTPUT);
  const stderr = new OutputTail(spec.maxOutputBytes ?? DEFAULT_MAX_OUTPUT);
  const finish = (partial: Pick<CommandResult, 'exitCode' | 'signal'> & Partial<CommandResult>): CommandResult => ({
    timedOut: false,
    aborted: false,
    ...partial,
    stdoutTail: stdout.text(),
    stderrTail: stderr.text(),
    durationMs: performance.now() - started,
  });
  if (argv.length === 0 || argv[0] === '') {
    return Promise.resolve(finish({ exitCode: null, signal: null, spawnError: 'empty command' }));
  }
  if (spec.signal?.aborted === true) {
    return Promise.resolve(finish({ exitCode: null, signal: null, aborted: true }));
  }
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // Without input the child reads end-of-file at once, as from /dev/null. A child that exits without
    // reading its input makes the write fail with EPIPE: that is its business.
    child.stdin.on('error', () => undefined);
    child.stdin.end(spec.input);
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const killGroup = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const terminate = (): void => {
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), spec.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      terminate();
    }, spec.timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      terminate();
    };
    spec.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));

    const settle = (result: CommandResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };

    child.on('error', (err) => {
      clearTimeout(killTimer);
      settle(finish({ exitCode: null, signal: null, spawnError: err.message, timedOut, aborted }));
    });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      // The direct child is gone; if we were killing the group, make sure nothing in it survives the grace.
      const doneReading = (): void => {
        // A process left running in the background (a service an activation started) may still hold the
        // pipes. Closing our ends would kill it with SIGPIPE on its next write, so keep draining them into
        // nothing, unref'd so they never keep the agent alive; they close when that process exits.
        for (const stream of [child.stdout, child.stderr]) {
          stream.removeAllListeners('data');
          stream.on('error', () => undefined);
          stream.resume();
          (stream as unknown as { unref?: () => void }).unref?.();
        }
        child.unref();
        const result = (): void => settle(finish({ exitCode: code, signal: sig, timedOut, aborted }));
        if (timedOut || aborted) {
          // Stragglers in the group that ignore SIGTERM get SIGKILL at the grace; resolve once they are gone.
          void waitGroupGone(child.pid!, (spec.killGraceMs ?? DEFAULT_KILL_GRACE_MS) + 500).then(() => {
            clearTimeout(killTimer);
            result();
          });
        } else {
          clearTimeout(killTimer);
          result();
        }
      };
      let open = 2;
      const onClose = (): void => {
        open -= 1;
        if (open === 0) {
          clearTimeout(drainTimer);
          doneReading();
        }
      };
      const drainTimer = setTimeout(doneReading, DRAIN_AFTER_EXIT_MS);
      if (child.stdout.closed) open -= 1;
      else child.stdout.once('close', onClose);
      if (child.stderr.closed) open -= 1;
      else child.stderr.once('close', onClose);
      if (open === 0) {
        clearTimeout(drainTimer);
        doneReading();
      }
    });
  });
}

/**
 * Resolves when no live process of group `pgid` is left, or after `limitMs`. Zombies count as gone: an
 * orphaned grandchild is reaped by PID 1, and some container inits never reap.
 */
async function waitGroupGone(pgid: number, limitMs: number): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (performance.now() < deadline) {
    if (!(await groupHasLiveMembers(pgid))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** True while a non-zombie process belongs to group `pgid` (from /proc; kill(-pgid, 0) where it is absent). */
async function groupHasLiveMembers(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return true;
  }
  for (const entry of entries) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after the parenthesised command: state, ppid, pgrp, …
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}
