import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isPidAlive } from '../../src/util/pid-alive.js';

/** One simulated machine: a directory that is its agent's HOME, holding its config, state dir and logs. */
export interface Machine {
  name: string;
  dir: string;
  port: number;
  config: string;
  stateDir: string;
  log: string;
}

/** The running agents of the demo. */
export interface Fleet {
  /** Agent process ids by machine name. */
  pids(): Map<string, number>;
  /** SIGTERM every agent (SIGKILL after `graceMs`) and wait for them to exit. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts one `flotilla agent --config …` process per machine, with HOME set to the machine's directory;
 * stderr (pino JSON lines) goes to the machine's agent.log. `detached` (for --keep) puts each agent in its
 * own session so it outlives the demo; otherwise Ctrl-C in the terminal reaches them too.
 */
export function startAgents(cliPath: string, machines: Machine[], detached: boolean): Fleet {
  const children = new Map<string, ChildProcess>();
  for (const m of machines) {
    const log = openSync(m.log, 'a');
    const child = spawn(process.execPath, [cliPath, 'agent', '--config', m.config], {
      cwd: m.dir,
      env: { ...process.env, HOME: m.dir, FLOTILLA_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', log],
      detached,
    });
    closeSync(log);
    if (detached) child.unref();
    children.set(m.name, child);
  }
  return {
    pids: () => new Map([...children].map(([name, c]) => [name, c.pid ?? -1])),
    async stop(graceMs = 10_000) {
      await Promise.all(
        [...children.values()].map(
          (c) =>
            new Promise<void>((done) => {
              if (c.exitCode !== null || c.signalCode !== null) return done();
              c.once('exit', () => done());
              c.kill('SIGTERM');
              setTimeout(() => c.kill('SIGKILL'), graceMs).unref();
            }),
        ),
      );
    },
  };
}

/** Every service pid a machine's activations ever started (its run/all-pids file). */
export async function servicePids(machine: Machine): Promise<number[]> {
  const text = await readFile(join(machine.dir, 'run', 'all-pids'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

const hasProc = (() => {
  try {
    readFileSync('/proc/self/cmdline');
    return true;
  } catch {
    return false;
  }
})();

/** True when `pid` still runs something under `root` (guards against a recycled pid). */
function runsUnder(pid: number, root: string): boolean {
  if (!hasProc) return true;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(root);
  } catch {
    return false;
  }
}

/**
 * Stops every service instance the machines started (SIGTERM, then SIGKILL) and waits until they are
 * gone. Only pids whose command line still names a path under `root` are signalled.
 */
export async function stopServices(machines: Machine[], root: string): Promise<void> {
  const pids = (await Promise.all(machines.map(servicePids))).flat().filter((p) => isPidAlive(p) && runsUnder(p, root));
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (pids.some(isPidAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids.filter(isPidAlive)) signal(pid, 'SIGKILL');
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
