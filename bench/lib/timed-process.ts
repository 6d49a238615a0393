// Whole processes timed from outside, as a user waits for them: wall time, the writeback they leave
// behind (a `sync` right after), and CPU time and peak RSS from GNU time (getrusage of the child it waits
// for). CPU time (user + sys) says what a process costs on a busy machine, where wall time mostly says how
// busy the machine was.
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** One timed run. */
export interface TimedRun {
  /** Wall seconds of the process. */
  seconds: number;
  /** Wall seconds of the `sync` run right after it (its deferred writeback). */
  syncSeconds: number;
  /** User + system CPU seconds of the process (GNU time's resolution: 10 ms). */
  cpuSeconds: number;
  peakRssMb: number;
  stdout: string;
}

const GNU_TIME = '/usr/bin/time';

/**
 * The environment of a floor (a bare `node -e 0`, the bare fetch and copy): this one without
 * NODE_EXTRA_CA_CERTS. Node 20 parses that file at start (~80 ms with Debian's bundle, where its whole
 * start is 30 ms); Flotilla's bin defers it to the first TLS connection (src/cli/flotilla-launcher.sh),
 * and a floor makes none either, so it starts as Flotilla does.
 */
export function floorEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  delete out['NODE_EXTRA_CA_CERTS'];
  return out;
}

function wait(cmd: string, args: string[], env: NodeJS.ProcessEnv, capture: boolean): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', capture ? 'pipe' : 'ignore', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString().slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `sync` and returns its wall seconds. */
export async function timeSync(): Promise<number> {
  const t0 = performance.now();
  await wait('sync', [], process.env, false);
  return (performance.now() - t0) / 1000;
}

let seq = 0;

/**
 * Runs `cmd args` under GNU time and then `sync`; throws with the command's stderr when it fails (`okCodes`
 * lists the exit codes that count as success, default [0]).
 */
export async function timeProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, okCodes: number[] = [0]): Promise<TimedRun> {
  const rssFile = join(tmpdir(), `flotilla-bench-rss-${process.pid}-${seq++}`);
  const t0 = performance.now();
  const r = await wait(GNU_TIME, ['-f', '%M %U %S', '-o', rssFile, cmd, ...args], env, true);
  const seconds = (performance.now() - t0) / 1000;
  const syncSeconds = await timeSync();
  const rss = await readFile(rssFile, 'utf8').catch(() => '');
  await rm(rssFile, { force: true });
  if (r.code === null || !okCodes.includes(r.code)) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  // The last line: GNU time writes a note above it when the command fails.
  const [kb = 0, user = 0, sys = 0] = (rss.trim().split('\n').pop() ?? '').split(' ').map(Number);
  return { seconds, syncSeconds, cpuSeconds: user + sys, peakRssMb: kb / 1024, stdout: r.stdout };
}
