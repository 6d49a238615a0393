// Child processes of a benchmark (agent daemons, idle baselines): started through one registry so every
// one of them is stopped, by its own pid, on success, on error and on Ctrl-C; plus /proc sampling and
// reading the agents' JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { delimiter, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The CLI of the same build as this benchmark, as package.json's `bin` ships it (dist/bench/lib →
 * dist/bin/flotilla, the launcher that runs dist/bin/flotilla.js), so a bench run from a private build
 * directory never mixes in files another build is rewriting in dist/.
 */
export const CLI = fileURLToPath(new URL('../../bin/flotilla', import.meta.url));

/** One started child process. */
export interface Proc {
  readonly pid: number;
  readonly child: ChildProcess;
  /** True once the process has exited. */
  exited(): boolean;
}

/** Starts processes and guarantees they are all stopped. */
export interface ProcRegistry {
  /** Spawns `cmd args`, stderr (and stdout when `stdoutToLog`) appended to `logFile` when given. */
  spawn(cmd: string, args: string[], options?: { env?: NodeJS.ProcessEnv; logFile?: string }): Proc;
  /** Starts `flotilla agent --config FILE`, its pino JSON lines to `logFile`. */
  spawnAgent(configFile: string, logFile: string, env?: NodeJS.ProcessEnv): Proc;
  /** SIGTERM to each live child (by pid), SIGKILL after `graceMs`; resolves when all have exited. */
  stopAll(graceMs?: number): Promise<void>;
}

/** A registry whose children are also SIGKILLed when this process exits or is interrupted. */
export function createProcRegistry(): ProcRegistry {
  const procs: Proc[] = [];
  const killAll = (): void => {
    for (const p of procs) if (!p.exited()) p.child.kill('SIGKILL');
  };
  const onSignal = (): void => {
    killAll();
    process.exit(130);
  };
  process.on('exit', killAll);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const registry: ProcRegistry = {
    spawn(cmd, args, options = {}) {
      const child = spawn(cmd, args, { env: options.env ?? process.env, stdio: ['ignore', 'ignore', options.logFile ? 'pipe' : 'ignore'] });
      if (options.logFile) child.stderr?.pipe(createWriteStream(options.logFile, { flags: 'a' }));
      let done = false;
      child.on('exit', () => (done = true));
      child.on('error', () => (done = true));
      if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
      const proc: Proc = { pid: child.pid, child, exited: () => done || child.exitCode !== null || child.signalCode !== null };
      procs.push(proc);
      return proc;
    },
    spawnAgent(configFile, logFile, env) {
      // The bin executed as systemd's ExecStart does (its shebang's Node flags apply), with this Node first on PATH.
      const path = `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`;
      return registry.spawn(CLI, ['agent', '--config', configFile], { env: { ...process.env, PATH: path, FLOTILLA_LOG_LEVEL: 'info', ...env }, logFile });
    },
    async stopAll(graceMs = 15_000) {
      await Promise.all(
        procs.map(
          (p) =>
            new Promise<void>((done) => {
              if (p.exited()) return done();
              p.child.once('exit', () => done());
              p.child.kill('SIGTERM');
              setTimeout(() => p.child.kill('SIGKILL'), graceMs).unref();
            }),
        ),
      );
      process.off('exit', killAll);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
  return registry;
}

/** Resident set size of `pid` in MiB, from /proc/PID/status VmRSS. */
export async function readRssMb(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  if (!m) throw new Error(`/proc/${pid}/status has no VmRSS`);
  return Number(m[1]) / 1024;
}

/** CPU seconds (utime + stime) used so far by `pid`, from /proc/PID/stat (USER_HZ assumed 100, as on Linux x86/arm). */
export async function readCpuSeconds(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Field 2 (comm) may contain spaces: parse after the closing parenthesis. utime, stime are fields 14, 15.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

/** One pino line of an agent log (the fields the benchmarks read). */
export interface LogLine {
  time: number;
  msg: string;
  step?: string;
  set?: string;
  digest?: string;
  ms?: number;
  storeRequests?: number;
  /** A "gate decision" line's store requests. */
  requests?: number;
  commit?: string | null;
}

/** The JSON lines of a log file (other lines skipped); [] when the file does not exist yet. */
export async function readLogLines(file: string): Promise<LogLine[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // A line cut while being written: the next read has it whole.
    }
  }
  return out;
}

/** Polls `check` every `everyMs` until true or `timeoutMs` passes; returns whether it became true. */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return check();
}

/** Live (non-zombie) descendants of `pid`, depth first, from /proc/PID/task/*\/children; [] when it is gone. */
export async function readDescendants(pid: number): Promise<number[]> {
  const out: number[] = [];
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  for (const t of tasks) {
    const text = await readFile(`/proc/${pid}/task/${t}/children`, 'utf8').catch(() => '');
    for (const c of text.split(/\s+/).filter(Boolean).map(Number)) {
      const stat = await readFile(`/proc/${c}/stat`, 'utf8').catch(() => '');
      if (stat === '' || stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      out.push(c, ...(await readDescendants(c)));
    }
  }
  return out;
}

/** VmRSS of `pid` and every live descendant, summed (MiB); a process that exits meanwhile counts 0. */
export async function readTreeRssMb(pid: number): Promise<number> {
  let sum = await readRssMb(pid);
  for (const c of await readDescendants(pid)) sum += await readRssMb(c).catch(() => 0);
  return sum;
}

/** utime+stime+cutime+cstime of one pid: its own CPU and that of its children it has reaped (seconds). */
export async function readCpuSecondsInclReaped(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14])) / 100;
}

/**
 * CPU seconds of a whole process tree so far: every live process's own and reaped-children time. A child
 * that exits between two readings moves from its own entry to its parent's reaped time, so differences
 * of two readings stay right.
 */
export async function readTreeCpuSeconds(pid: number): Promise<number> {
  let sum = await readCpuSecondsInclReaped(pid);
  for (const c of await readDescendants(pid)) sum += await readCpuSecondsInclReaped(c).catch(() => 0);
  return sum;
}
