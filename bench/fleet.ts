// npm run bench -- fleet [--agents N] [--batch N] [--rollouts R] [--timeout-s S] [--cgi] [--keep-logs DIR]
// A fleet rollout with no coordinator: N agent daemons (real processes, default 50) in one set, canary 1 +
// batches of 5, a quick activation and an instant health check (scripts that exit 0), a 1 s poll without
// jitter; one signed deploy repo over loopback HTTP; one directory store for bytes, leases and status.
// All converge on v1 first (untimed), then R rollouts (default 3: v2, v3, v4) are measured, each: total
// time from the commit to all Ready (status files in the store), per-batch overhead beyond activation and
// health from the agents' own step logs, and store requests per machine per rollout. The verdict takes the
// median over the batches of all R rollouts: one rollout's 10 batches on a shared 2-core machine are noisy. Every process started is stopped, even on error.
// The repo is served through a ref-advertisement cache in front of git http-backend (lib/ref-cache-server.ts):
// with one CGI process per request, 50 agents polling every second saturate this 2-core machine in the
// test server, not in Flotilla. --cgi measures without the cache.
import { cp, mkdir } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { planRollout } from '../src/rollout/planner.js';
import type { Digest } from '../src/store/digest.js';
import { batchFigures, machineRollout, type MachineRollout } from './lib/fleet-analysis.js';
import { medP90, verdict } from './lib/percentile.js';
import { measureStatusRead } from './lib/status-read.js';
import { createProcRegistry, readLogLines, readTreeCpuSeconds, readTreeRssMb, waitUntil, type LogLine, type Proc } from './lib/procs.js';
import { median, printTable, spread } from './lib/stats.js';
import { createBenchWorld, setYaml, type BenchWorld } from './lib/world.js';
import { readyCount } from './lib/ready-count.js';

/** What `npm run bench -- fleet --help` prints: the synopsis, then what it measures. */
export const usage = "npm run bench -- fleet [--agents N] [--batch N] [--rollouts R] [--timeout-s S] [--cgi] [--keep-logs DIR]\nA rollout across N real agent daemons with no coordinator: time from commit to all Ready, and per-batch overhead beyond activation.";

const SET = 'app';
const log = (s: string): void => void process.stdout.write(`${s}\n`);

function numberArg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} needs a positive integer`);
  return v;
}

function fleetYaml(world: BenchWorld, closure: string, machines: string[], batch: number): string {
  return setYaml({
    closure, platform: world.platform, machines, rollout: { canary: 1, batchSize: batch, leaseTtl: '30s' },
    activate: ['app/bin/activate'], health: ['app/bin/health'],
  });
}

function pushVersion(world: BenchWorld, version: string): Promise<Digest> {
  return world.pushPackage('app', { VERSION: `${version}\n`, 'bin/activate+x': '#!/bin/sh\nexit 0\n', 'bin/health+x': '#!/bin/sh\nexit 0\n' });
}


/** Waits until all `n` machines are Ready on `digest`; returns the ms it took (status polled every 100 ms). */
async function waitAllReady(world: BenchWorld, digest: string, n: number, timeoutS: number, label: string): Promise<number> {
  const t0 = performance.now();
  let last = -1;
  const ok = await waitUntil(async () => {
    const c = await readyCount(world.storeUrl, SET, digest);
    if (c !== last && c % 5 === 0) log(`  ${label}: ${c}/${n} Ready after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    last = c;
    return c === n;
  }, timeoutS * 1000, 100);
  if (!ok) throw new Error(`${label}: only ${last}/${n} machines Ready on ${digest} after ${timeoutS} s (logs in ${join(world.root, 'logs')})`);
  return performance.now() - t0;
}

/** Copies the agents' logs out of the world before it is removed (for a post-mortem). */
async function keepLogs(from: string, to: string): Promise<void> {
  if (to === '') throw new Error('--keep-logs needs a directory');
  await cp(from, to, { recursive: true });
  log(`agent logs kept in ${to}`);
}

/** One measured rollout: the version and digest committed, when, how long until all Ready, agent CPU. */
interface Measured {
  version: string;
  digest: Digest;
  pushedAt: number;
  totalMs: number;
  cores: number;
}

interface RolloutResult {
  m: Measured;
  figures: ReturnType<typeof batchFigures>;
  overhead: number[];
  batches: number;
  requests: number[];
  ticks: number[];
  stepMs: Map<string, number[]>;
}

/** Reads one rollout back from the agents' logs: per-batch figures, requests and ticks per machine, step times. */
function analyse(m: Measured, machines: string[], logs: Map<string, LogLine[]>, batch: number): RolloutResult {
  const rollouts = new Map<string, MachineRollout>();
  const stepMs = new Map<string, number[]>();
  for (const machine of machines) {
    const lines = logs.get(machine) ?? [];
    const r = machineRollout(machine, lines, m.digest, m.pushedAt);
    if (r) rollouts.set(machine, r);
    for (const l of lines) if (l.step !== undefined && l.ms !== undefined && l.time >= m.pushedAt && l.time <= (r?.commitEnd ?? m.pushedAt + m.totalMs)) stepMs.set(l.step, [...(stepMs.get(l.step) ?? []), l.ms]);
  }
  const plan = planRollout({ set: SET, target: m.digest, machines, settings: { canary: 1, batchSize: { kind: 'count', count: batch } } });
  const figures = batchFigures(plan.batches.map((b) => [...b]), rollouts, m.pushedAt);
  return {
    m, figures, overhead: figures.slice(1).map((f) => f.overheadMs), batches: plan.batches.length,
    requests: [...rollouts.values()].map((r) => r.storeRequests), ticks: [...rollouts.values()].map((r) => r.ticks), stepMs,
  };
}

/** Runs the fleet benchmark and prints its tables. */
export async function run(args: string[]): Promise<void> {
  const n = numberArg(args, '--agents', 50);
  const batch = numberArg(args, '--batch', 5);
  const timeoutS = numberArg(args, '--timeout-s', 900);
  const rollouts = numberArg(args, '--rollouts', 3);
  const procs = createProcRegistry();
  let world: BenchWorld | undefined;
  try {
    world = await createBenchWorld('fleet', { refCache: !args.includes('--cgi') });
    const machines = Array.from({ length: n }, (_, i) => `m${String(i + 1).padStart(2, '0')}`);
    const v1 = await pushVersion(world, 'v1');
    await world.commit({ [`sets/${SET}.yaml`]: fleetYaml(world, v1, machines, batch) }, 'app v1');
    await mkdir(join(world.root, 'logs'));
    const agents: Proc[] = [];
    for (const m of machines) agents.push(procs.spawnAgent(await world.agentConfig(m), join(world.root, 'logs', `${m}.log`)));
    log(`${n} agent daemons started (world ${world.root}); first deployment of v1 (untimed, includes start-up)`);
    const firstMs = await waitAllReady(world, v1, n, timeoutS, 'v1');
    await new Promise((r) => setTimeout(r, 3000));
    // Whole trees: the supervisor, its tick worker, and the activation and health commands they reaped.
    const rssBefore = await Promise.all(agents.map((a) => readTreeRssMb(a.pid).catch(() => 0)));

    const measured: Measured[] = [];
    for (let r = 0; r < rollouts; r++) {
      const version = `v${r + 2}`;
      const digest = await pushVersion(world, version);
      await new Promise((res) => setTimeout(res, 3000)); // settle: the previous rollout's last ticks and heartbeats
      const cpuBefore = await Promise.all(agents.map((a) => readTreeCpuSeconds(a.pid).catch(() => 0)));
      await world.commit({ [`sets/${SET}.yaml`]: fleetYaml(world, digest, machines, batch) }, `app ${version}`);
      const pushedAt = Date.now();
      log(`${version} committed; measuring rollout ${r + 1}/${rollouts}`);
      const totalMs = await waitAllReady(world, digest, n, timeoutS, version);
      const cpuAfter = await Promise.all(agents.map((a) => readTreeCpuSeconds(a.pid).catch(() => 0)));
      measured.push({ version, digest, pushedAt, totalMs, cores: cpuAfter.reduce((sum, c, i) => sum + c - (cpuBefore[i] ?? 0), 0) / (totalMs / 1000) });
    }
    await new Promise((r) => setTimeout(r, 1500)); // the last ticks' log lines
    const rssAfter = await Promise.all(agents.map((a) => readTreeRssMb(a.pid).catch(() => 0)));
    await procs.stopAll();
    const statusRead = await measureStatusRead(world.storeUrl, SET, 30);

    const logs = new Map<string, LogLine[]>();
    for (const m of machines) logs.set(m, await readLogLines(join(world.root, 'logs', `${m}.log`)));
    const keep = args.indexOf('--keep-logs');
    if (keep >= 0) await keepLogs(join(world.root, 'logs'), args[keep + 1] ?? '');
    const results = measured.map((m) => analyse(m, machines, logs, batch));
    const last = results[results.length - 1] as RolloutResult;
    printTable(['batch', 'machines', 'gap after previous batch ms', 'duration ms', 'activate+health ms', 'overhead ms'], last.figures.map((f) => [
      f.index === 0 ? '0 (canary; gap from the commit)' : String(f.index), f.size, f.gapMs.toFixed(0), f.durationMs.toFixed(0), f.proofMs.toFixed(0), f.overheadMs.toFixed(0),
    ]));
    log(`(the batches of the last rollout, ${last.m.version})\n`);
    printTable(['rollout', 'total s', 'per-batch overhead s, median (min–max)', 'batches > 1 s', 'agent CPU, cores'], results.map((r) => [
      r.m.version, (r.m.totalMs / 1000).toFixed(1), spread(r.overhead.map((x) => x / 1000), 2), `${r.overhead.filter((x) => x > 1000).length}/${r.overhead.length}`, r.m.cores.toFixed(2),
    ]));
    const later = results.flatMap((r) => r.figures.slice(1));
    const overhead = later.map((f) => f.overheadMs);
    const requests = results.flatMap((r) => r.requests);
    const ticks = results.flatMap((r) => r.ticks);
    const stepMs = new Map<string, number[]>();
    for (const r of results) for (const [k, v] of r.stepMs) stepMs.set(k, [...(stepMs.get(k) ?? []), ...v]);
    log('');
    printTable(['figure', 'measured', 'target', 'floor / note', 'verdict'], [
      [`total rollout, commit → all ${n} Ready, s (${results.length} rollouts)`, spread(results.map((r) => r.m.totalMs / 1000), 1), '-', `${last.batches} batches`, '-'],
      [`per-batch overhead (batches 1.. of every rollout, gap + duration − activate/health), s`, `${spread(overhead.map((x) => x / 1000), 2)}`, '≤ 1 s', 'poll floor: the next batch learns Ready on its next poll: 0–1 s (mean 0.5 s) + one tick', verdict(median(overhead) <= 1000)],
      ['  of which gap after previous batch, s', spread(later.map((f) => f.gapMs / 1000), 2), '', '', ''],
      ['  of which in-batch beyond activate/health, s', spread(later.map((f) => (f.durationMs - f.proofMs) / 1000), 2), '', '', ''],
      ['store requests per machine per rollout', `${(requests.reduce((a, b) => a + b, 0) / requests.length).toFixed(1)} mean; ${spread(requests, 0)}`, '-', `over ${spread(ticks, 0)} ticks per machine`, '-'],
      ['tick steps during the rollouts, ms median (count)', ['sync', 'verify', 'declarations', 'turn', 'gate', 'fetch'].map((k) => `${k} ${median(stepMs.get(k) ?? [0]).toFixed(0)} (${stepMs.get(k)?.length ?? 0})`).join(', '), '', 'one agent per machine would see its own core', ''],
      [`gate's status read of ${statusRead.files} files, after the agents stopped, ms med/p90`, `${medP90(statusRead.sequential)} (readSetStatuses: one get at a time)`, '', `same gets concurrently ${medP90(statusRead.concurrent)}`, ''],
      ['CPU the agents used during the rollouts (process trees), cores', spread(results.map((r) => r.m.cores), 2), '', `this machine: ${cpus().length} cores shared with other work; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`, ''],
      ['first deployment v1 (from process start), s', (firstMs / 1000).toFixed(1), '-', '', '-'],
      ['agent RSS, MB, supervisor + tick worker (after v1 / at the end)', `${spread(rssBefore, 0)} / ${spread(rssAfter, 0)}`, '-', `sum ${(rssAfter.reduce((a, b) => a + b, 0) / 1024).toFixed(1)} GB`, '-'],
    ]);
    const cache = world.refCache?.stats();
    log(`\nrepo served by ${cache ? `the ref cache (hits ${cache.hits}, misses ${cache.misses}, fetches passed to http-backend ${cache.passed})` : 'git http-backend (CGI per request)'}`);
    log(`batches whose overhead > 1 s: ${later.filter((f) => f.overheadMs > 1000).length}/${later.length}`);
  } finally {
    await procs.stopAll();
    await world?.close();
  }
}
