// npm run bench -- agent [--ticks N] [--rounds N] [--idle-seconds N]
// The agent on one machine, in one world built for the run (signed deploy repo over loopback HTTP and as a
// local bare repo, a directory store): (a) no-op tick latency of an in-process agent beside the refs-only
// floor (isomorphic-git listServerRefs) and the peer (`git ls-remote`); (b) switch latency beside a bare
// symlink+rename(2); (c) commit-to-converged through the webhook of a real daemon beside the same flow on
// a 1 s poll timer and the floor (no-op tick + fetch); (d) idle RSS and CPU of daemons beside a bare node.
// A daemon is a supervisor process and a tick worker child that retires after keepWarm: RSS and CPU are
// read for the supervisor alone and for its whole process tree (CPU including reaped workers), idle is
// sampled once every worker has retired, and the cost of one worker life (what each status heartbeat
// costs) is measured and printed beside the idle CPU.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_DEFAULTS } from '../src/declarations/agent-config-defaults.js';
import { measureConverge, measureWorkerCycles, postWebhook, sampleIdle, statusDigest, waitRetired, type ConvergeRound, type IdleSample, type WorkerCycle } from './lib/daemon-phases.js';
import { measureNoopTicks, measureRefFloors, measureSwitch } from './lib/noop-tick.js';
import { medP90, percentile, verdict } from './lib/percentile.js';
import { createProcRegistry, waitUntil, type ProcRegistry } from './lib/procs.js';
import { median, printTable, spread } from './lib/stats.js';
import { createBenchWorld, freePort, setYaml, type BenchWorld } from './lib/world.js';

/** What `npm run bench -- agent --help` prints: the synopsis, then what it measures. */
export const usage = "npm run bench -- agent [--ticks N] [--rounds N] [--idle-seconds N]\nOne machine's agent: no-op tick latency beside `git ls-remote`, switch latency beside a bare rename(2), commit-to-converged through the webhook beside a 1 s poll, idle RSS and CPU of daemons beside bare node.";

const SET = 'web';
const MACHINES = ['local', 'http', 'hook', 'poll', 'idle30', 'cold'];

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
  /** Bumps that each found the worker retired: fork, load, first tick (fetch, switch, …) in a new process. */
  cold: ConvergeRound[];
  idle: Map<string, IdleSample>;
  cycles: WorkerCycle[];
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
  // Poll twice a day: only the webhook can make this daemon converge within the bench. Default keepWarm
  // (20 s): the bumps below come within it, so they run in a warm worker.
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
  // A webhook daemon whose worker retires 1 s after each tick: every tick it runs starts a new worker.
  const coldPort = await freePort();
  const coldUrl = `http://127.0.0.1:${coldPort}/hooks/git`;
  const cold = await startDaemon(world, procs, 'cold', {
    keepWarm: '1s',
    repo: { url: world.repoUrl, branch: 'main', pollSchedule: '0 0 */12 * * *', jitter: '0s' },
    webhook: { listen: `127.0.0.1:${coldPort}`, secretFile },
    metrics: { enabled: false },
  }, last);
  log(`(d) ${rounds} worker lives on a retired webhook daemon (webhook → fresh worker → no-op tick → retire)`);
  const cycles = await measureWorkerCycles({ pid: cold.pid, logFile: cold.logFile, rounds, trigger: () => postWebhook(coldUrl, secret, '0'.repeat(40)), retireTimeoutMs: 60_000 });
  log(`(b) ${rounds} bumps, each into a retired worker (the switch runs in the first tick of a new process)`);
  const coldRounds = await measureConverge({
    world, set: SET, machines: MACHINES, stateDir: world.stateDirOf('cold'), logFile: cold.logFile, rounds, label: 'cold',
    trigger: (oid) => postWebhook(coldUrl, secret, oid),
    beforeRound: async () => {
      if (!(await waitRetired(cold.pid, 60_000))) throw new Error(`daemon cold kept its worker (log ${cold.logFile})`);
    },
  });
  // Every daemon on the final digest (the 30 s poller may need up to 30 s to see it), then every worker retired.
  const final = (await statusDigest(world.stateDirOf('cold'), SET)) ?? last;
  await postWebhook(hookUrl, secret, '0'.repeat(40));
  for (const [name, d] of [['hook', hook], ['poll', poll], ['idle30', idle30], ['cold', cold]] as const) {
    if (!(await waitUntil(async () => (await statusDigest(world.stateDirOf(name), SET)) === final, 60_000, 100))) throw new Error(`daemon ${name} did not reach ${final} (log ${d.logFile})`);
    if (!(await waitRetired(d.pid, 60_000))) throw new Error(`daemon ${name} kept its worker past 60 s (log ${d.logFile})`);
  }
  const bare = procs.spawn(process.execPath, ['-e', 'setInterval(()=>{},1000)']);
  await new Promise((r) => setTimeout(r, 2000));
  log(`(d) every worker retired; sampling idle RSS/CPU for ${idleSeconds} s`);
  const idle = await sampleIdle(new Map([['hook', hook.pid], ['poll', poll.pid], ['idle30', idle30.pid], ['bare', bare.pid]]), idleSeconds);
  return { hook: hookRounds, poll: pollRounds, cold: coldRounds, idle, cycles };
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
    const coldSwitch = defined(d.cold.map((r) => r.switchMs));
    const idle = (k: string): IdleSample => d.idle.get(k) ?? { rssMb: [0], treeRssMb: [0], cpuSeconds: 0, treeCpuSeconds: 0, maxChildren: 0, wallSeconds: 1 };
    const mb = (xs: number[]): string => `${median(xs).toFixed(1)} (max ${Math.max(...xs).toFixed(1)})`;
    const pct = (s: number, wall: number): string => `${((s / wall) * 100).toFixed(2)}% (${s.toFixed(2)} s)`;
    const rss = (k: string): string => `tree ${mb(idle(k).treeRssMb)}; supervisor ${mb(idle(k).rssMb)}${idle(k).maxChildren > 0 ? `; a worker ran (max ${idle(k).maxChildren} children)` : ''}`;
    const cpu = (k: string): string => `tree ${pct(idle(k).treeCpuSeconds, idle(k).wallSeconds)}; supervisor ${pct(idle(k).cpuSeconds, idle(k).wallSeconds)}`;
    const cycleCpu = median(d.cycles.map((c) => c.cpuSeconds));
    const heartbeatS = AGENT_DEFAULTS.statusHeartbeatMs / 1000;
    const treeMax = (k: string): number => Math.max(...idle(k).treeRssMb);
    const steps = (t: typeof http): string => [...t.steps].map(([k, v]) => `${k} ${median(v).toFixed(1)}`).join(', ');
    log('');
    printTable(['figure', 'measured', 'target', 'floor / peer (same run)', 'verdict'], [
      ['(a) no-op tick, local bare repo, ms med/p90', medP90(local.total), '-', '-', '-'],
      ['(a) no-op tick, HTTP remote, ms med/p90', medP90(http.total), '< 30 ms', `listServerRefs ${medP90(floors.listServerRefs)} (floor); git ls-remote ${medP90(floors.lsRemote)} (peer)`, verdict(httpMed < 30)],
      ['    HTTP tick steps, ms median', steps(http), '', '', ''],
      ['    local tick steps, ms median', steps(local), '', '', ''],
      ['    store requests per no-op tick', `${median(http.storeRequests)} (HTTP), ${median(local.storeRequests)} (local)`, '', '', ''],
      [`(b) switch step in the daemon log, warm worker, ms (${stepSwitch.length})`, spread(stepSwitch, 2), '< 5 ms', `bare symlink+rename ${spread(sw.bare, 3)}; +fsync(dir) ${spread(sw.bareFsync, 3)}`, verdict(median(stepSwitch) < 5)],
      [`(b) switch step, first tick of a new worker, ms (${coldSwitch.length})`, spread(coldSwitch, 2), '< 5 ms', 'its set locks taken once at worker start', verdict(median(coldSwitch) < 5)],
      [`(b) switchGeneration direct, ms med/p90 (${sw.switchMs.length})`, medP90(sw.switchMs), '< 5 ms', `commitSwitch ${medP90(sw.commitMs)}`, verdict(percentile(sw.switchMs, 50) < 5)],
      [`(c) commit→converged via webhook, ms (${hookConverge.length})`, spread(hookConverge, 0), '-', `1 s poll (peer) ${spread(pollConverge, 0)}; floor no-op tick + fetch ${(httpMed + median(fetchMs)).toFixed(0)}`, '-'],
      [`(c) commit→converged via webhook, worker retired, ms (${d.cold.length})`, spread(d.cold.map((r) => r.convergeMs), 0), '-', 'fork + module load + agent build + full first tick', '-'],
      ['    fetch step in those ticks, ms', spread(fetchMs, 1), '', `signed commit+push (before the clock) ${spread(d.hook.map((r) => r.commitMs), 0)}`, ''],
      [`(d) idle RSS, webhook daemon (poll 12 h), MB`, rss('hook'), '< 60 MB', `bare node ${mb(idle('bare').rssMb)}`, verdict(treeMax('hook') < 60)],
      ['(d) idle CPU, webhook daemon, % of a core', cpu('hook'), '≈ 0', `bare node ${pct(idle('bare').cpuSeconds, idle('bare').wallSeconds)}`, verdict(idle('hook').treeCpuSeconds / idle('hook').wallSeconds < 0.005)],
      [`(d) one worker life (fork, load, build, no-op tick, retire), CPU s (${d.cycles.length})`, spread(d.cycles.map((c) => c.cpuSeconds), 2), '-', `webhook → tick finished in a cold worker ${spread(d.cycles.map((c) => c.firstTickMs), 0)} ms`, '-'],
      [`    its long-run cost: one life per ${heartbeatS} s heartbeat`, `${((cycleCpu / heartbeatS) * 100).toFixed(2)}% of a core`, '≈ 0', 'a settled agent starts a worker only for a heartbeat or a new commit', verdict(cycleCpu / heartbeatS < 0.005)],
      ['(d) daemon polling every 30 s: RSS MB', rss('idle30'), '< 60 MB', '', verdict(treeMax('idle30') < 60)],
      ['    its CPU', cpu('idle30'), '≈ 0', '', verdict(idle('idle30').treeCpuSeconds / idle('idle30').wallSeconds < 0.005)],
      ['(d) daemon polling every 1 s: RSS MB', rss('poll'), '(not idle)', '', '-'],
      ['    its CPU (a head check every second)', cpu('poll'), '(not idle)', '', '-'],
    ]);
    log(`\nidle window ${idleSeconds} s, sampled after every worker retired (keepWarm: default 20 s; 1 s for the worker-life and retired-worker daemon); RSS verdicts on the tree's max; CPU verdict: PASS under 0.5% of one core. Load average: ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')} (a shared machine: figures include scheduling noise)`);
  } finally {
    await procs.stopAll();
    await world?.close();
  }
}
