// npm run bench -- agent [--ticks N] [--rounds N] [--idle-seconds N]
// The agent on one machine, in one world built for the run (signed deploy repo over loopback HTTP and as a
// local bare repo, a directory store): (a) no-op tick latency of an in-process agent beside the refs-only
// floor (isomorphic-git listServerRefs) and the peer (`git ls-remote`); (b) switch latency beside a bare
// symlink+rename(2); (c) commit-to-converged through the webhook of a real daemon beside the same flow on
// a 1 s poll timer and the floor (no-op tick + fetch); (d) idle RSS and CPU of daemons beside a bare node.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { measureConverge, postWebhook, sampleIdle, statusDigest, type ConvergeRound, type IdleSample } from './lib/daemon-phases.js';
import { measureNoopTicks, measureRefFloors, measureSwitch } from './lib/noop-tick.js';
import { medP90, percentile, verdict } from './lib/percentile.js';
import { createProcRegistry, waitUntil, type ProcRegistry } from './lib/procs.js';
import { median, printTable, spread } from './lib/stats.js';
import { createBenchWorld, freePort, setYaml, type BenchWorld } from './lib/world.js';

const SET = 'web';
const MACHINES = ['local', 'http', 'hook', 'poll', 'idle30'];

function numberArg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
  return v;
}

const log = (s: string): void => void process.stdout.write(`${s}\n`);
const defined = (xs: Array<number | undefined>): number[] => xs.filter((x): x is number => x !== undefined);

interface Daemons {
  hook: ConvergeRound[];
  poll: ConvergeRound[];
  idle: Map<string, IdleSample>;
}

/** Starts a daemon for `machine` and waits until its status file names `digest`. */
async function startDaemon(world: BenchWorld, procs: ProcRegistry, machine: string, extra: Record<string, unknown>, digest: string): Promise<{ pid: number; logFile: string }> {
  const logFile = join(world.root, `${machine}.log`);
  const p = procs.spawnAgent(await world.agentConfig(machine, extra), logFile);
  if (!(await waitUntil(async () => (await statusDigest(world.stateDirOf(machine), SET)) === digest, 60_000, 20))) {
    throw new Error(`daemon ${machine} did not converge on ${digest} (log ${logFile})`);
  }
  return { pid: p.pid, logFile };
}

async function runDaemons(world: BenchWorld, procs: ProcRegistry, first: string, rounds: number, idleSeconds: number): Promise<Daemons> {
  const secret = 'bench-webhook-secret';
  const secretFile = join(world.root, 'webhook-secret');
  await writeFile(secretFile, `${secret}\n`);
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  const hookUrl = `http://${listen}/hooks/git`;
  // Poll twice a day: only the webhook can make this daemon converge within the bench.
  const hook = await startDaemon(world, procs, 'hook', {
    repo: { url: world.repoUrl, branch: 'main', pollSchedule: '0 0 */12 * * *', jitter: '0s' },
    webhook: { listen, secretFile },
    metrics: { enabled: true, listen },
  }, first);
  await postWebhook(hookUrl, secret, '0'.repeat(40), 'ping', 200);
  log(`(c) webhook daemon pid ${hook.pid} up; ${rounds} bumps through POST /hooks/git`);
  const hookRounds = await measureConverge({ world, set: SET, machines: MACHINES, stateDir: world.stateDirOf('hook'), logFile: hook.logFile, rounds, trigger: (oid) => postWebhook(hookUrl, secret, oid), label: 'hook', randomDelayMs: 1000 });
  const latest = (await statusDigest(world.stateDirOf('hook'), SET)) ?? first;
  const poll = await startDaemon(world, procs, 'poll', { repo: { url: world.repoUrl, branch: 'main', pollSchedule: '* * * * * *', jitter: '0s' } }, latest);
  log(`(c) poll daemon pid ${poll.pid} up; ${rounds} bumps found by the 1 s poll`);
  const pollRounds = await measureConverge({ world, set: SET, machines: MACHINES, stateDir: world.stateDirOf('poll'), logFile: poll.logFile, rounds, label: 'poll', randomDelayMs: 1000 });
  const last = (await statusDigest(world.stateDirOf('poll'), SET)) ?? latest;
  const idle30 = await startDaemon(world, procs, 'idle30', { repo: { url: world.repoUrl, branch: 'main', pollSchedule: '*/30 * * * * *', jitter: '0s' } }, last);
  const bare = procs.spawn(process.execPath, ['-e', 'setInterval(()=>{},1000)']);
  await new Promise((r) => setTimeout(r, 2000));
  log(`(d) sampling idle RSS/CPU for ${idleSeconds} s`);
  const idle = await sampleIdle(new Map([['hook', hook.pid], ['poll', poll.pid], ['idle30', idle30.pid], ['bare', bare.pid]]), idleSeconds);
  return { hook: hookRounds, poll: pollRounds, idle };
}

/** Runs the agent benchmark and prints one table of figures, targets, floors/peers and verdicts. */
export async function run(args: string[]): Promise<void> {
  const ticks = numberArg(args, '--ticks', 40);
  const rounds = numberArg(args, '--rounds', 6);
  const idleSeconds = numberArg(args, '--idle-seconds', 60);
  const procs = createProcRegistry();
  let world: BenchWorld | undefined;
  try {
    world = await createBenchWorld('agent');
    const v1 = await world.pushPackage('app', { VERSION: 'v1\n', 'bin/run+x': '#!/bin/sh\nexit 0\n' });
    await world.commit({ [`sets/${SET}.yaml`]: setYaml({ closure: v1, platform: world.platform, machines: MACHINES }) }, 'web v1');
    log(`world in ${world.root}; ${ticks} no-op ticks per repo kind`);
    const local = await measureNoopTicks(await world.agentConfig('local', { repo: { url: world.bareDir, branch: 'main' } }), ticks);
    const http = await measureNoopTicks(await world.agentConfig('http'), ticks);
    const floors = await measureRefFloors(world.repoUrl, ticks, join(world.root, 'home'));
    const sw = await measureSwitch(200);
    const d = await runDaemons(world, procs, v1, rounds, idleSeconds);
    await procs.stopAll();

    const httpMed = median(http.total);
    const hookConverge = d.hook.map((r) => r.convergeMs);
    const pollConverge = d.poll.map((r) => r.convergeMs);
    const fetchMs = defined([...d.hook, ...d.poll].map((r) => r.fetchMs));
    const stepSwitch = defined([...d.hook, ...d.poll].map((r) => r.switchMs));
    const idle = (k: string): IdleSample => d.idle.get(k) ?? { rssMb: [0], cpuSeconds: 0, wallSeconds: 1 };
    const rss = (k: string): string => `${median(idle(k).rssMb).toFixed(1)} (max ${Math.max(...idle(k).rssMb).toFixed(1)})`;
    const cpu = (k: string): string => `${((idle(k).cpuSeconds / idle(k).wallSeconds) * 100).toFixed(2)}% (${idle(k).cpuSeconds.toFixed(2)} s)`;
    const steps = (t: typeof http): string => [...t.steps].map(([k, v]) => `${k} ${median(v).toFixed(1)}`).join(', ');
    log('');
    printTable(['figure', 'measured', 'target', 'floor / peer (same run)', 'verdict'], [
      ['(a) no-op tick, local bare repo, ms med/p90', medP90(local.total), '-', '-', '-'],
      ['(a) no-op tick, HTTP remote, ms med/p90', medP90(http.total), '< 30 ms', `listServerRefs ${medP90(floors.listServerRefs)} (floor); git ls-remote ${medP90(floors.lsRemote)} (peer)`, verdict(httpMed < 30)],
      ['    HTTP tick steps, ms median', steps(http), '', '', ''],
      ['    local tick steps, ms median', steps(local), '', '', ''],
      ['    store requests per no-op tick', `${median(http.storeRequests)} (HTTP), ${median(local.storeRequests)} (local)`, '', '', ''],
      [`(b) switch step in the daemon log, ms (${stepSwitch.length})`, spread(stepSwitch, 2), '< 5 ms', `bare symlink+rename ${spread(sw.bare, 3)}; +fsync(dir) ${spread(sw.bareFsync, 3)}`, verdict(median(stepSwitch) < 5)],
      [`(b) switchGeneration direct, ms med/p90 (${sw.switchMs.length})`, medP90(sw.switchMs), '< 5 ms', `commitSwitch ${medP90(sw.commitMs)}`, verdict(percentile(sw.switchMs, 50) < 5)],
      [`(c) commit→converged via webhook, ms (${hookConverge.length})`, spread(hookConverge, 0), '-', `1 s poll (peer) ${spread(pollConverge, 0)}; floor no-op tick + fetch ${(httpMed + median(fetchMs)).toFixed(0)}`, '-'],
      ['    fetch step in those ticks, ms', spread(fetchMs, 1), '', `signed commit+push (before the clock) ${spread(d.hook.map((r) => r.commitMs), 0)}`, ''],
      [`(d) idle RSS, webhook daemon (poll 12 h), MB`, rss('hook'), '< 60 MB', `bare node ${rss('bare')}`, verdict(Math.max(...idle('hook').rssMb) < 60)],
      ['(d) idle CPU, webhook daemon, % of a core', cpu('hook'), '≈ 0', `bare node ${cpu('bare')}`, verdict(idle('hook').cpuSeconds / idle('hook').wallSeconds < 0.005)],
      ['(d) daemon polling every 30 s: RSS MB / CPU', `${rss('idle30')} / ${cpu('idle30')}`, '< 60 MB / ≈ 0', '', verdict(Math.max(...idle('idle30').rssMb) < 60)],
      ['(d) daemon polling every 1 s: RSS MB / CPU', `${rss('poll')} / ${cpu('poll')}`, '(not idle)', '', '-'],
    ]);
    log(`\nidle window ${idleSeconds} s; CPU verdict: PASS under 0.5% of one core. Load average: ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')} (a shared machine: figures include scheduling noise)`);
  } finally {
    await procs.stopAll();
    await world?.close();
  }
}
