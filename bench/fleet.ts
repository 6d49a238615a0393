// npm run bench -- fleet [--agents N] [--batch N] [--timeout-s S] [--cgi] [--keep-logs DIR]
// A fleet rollout with no coordinator: N agent daemons (real processes, default 50) in one set, canary 1 +
// batches of 5, a quick activation and an instant health check (scripts that exit 0), a 1 s poll without
// jitter; one signed deploy repo over loopback HTTP; one directory store for bytes, leases and status.
// All converge on v1 first (untimed), then the v1→v2 rollout is measured: total time from the commit to
// all Ready (status files in the store), per-batch overhead beyond activation/health from the agents' own
// step logs, and store requests per machine per rollout. Every process started is stopped, even on error.
// The repo is served through a ref-advertisement cache in front of git http-backend (lib/ref-cache-server.ts):
// with one CGI process per request, 50 agents polling every second saturate this 2-core machine in the
// test server, not in Flotilla. --cgi measures without the cache.
import { cp, mkdir } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { planRollout } from '../src/rollout/planner.js';
import type { Digest } from '../src/store/digest.js';
import { openStore } from '../src/store/open-store.js';
import { isParseProblem } from '../src/status/machine-status.js';
import { readSetStatuses } from '../src/status/status-io.js';
import { batchFigures, machineRollout, type MachineRollout } from './lib/fleet-analysis.js';
import { medP90, verdict } from './lib/percentile.js';
import { measureStatusRead } from './lib/status-read.js';
import { createProcRegistry, readLogLines, readTreeCpuSeconds, readTreeRssMb, waitUntil, type Proc } from './lib/procs.js';
import { median, printTable, spread } from './lib/stats.js';
import { createBenchWorld, setYaml, type BenchWorld } from './lib/world.js';

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

/** How many machines report Ready on `digest` in the store. */
async function readyCount(storeUrl: string, digest: string): Promise<number> {
  const store = openStore(storeUrl);
  try {
    let n = 0;
    for (const [, s] of await readSetStatuses(store, SET)) if (!isParseProblem(s) && s.currentDigest === digest && s.state === 'Ready') n++;
    return n;
  } finally {
    await store.close();
  }
}

/** Waits until all `n` machines are Ready on `digest`; returns the ms it took (status polled every 100 ms). */
async function waitAllReady(world: BenchWorld, digest: string, n: number, timeoutS: number, label: string): Promise<number> {
  const t0 = performance.now();
  let last = -1;
  const ok = await waitUntil(async () => {
    const c = await readyCount(world.storeUrl, digest);
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

/** Runs the fleet benchmark and prints its tables. */
export async function run(args: string[]): Promise<void> {
  const n = numberArg(args, '--agents', 50);
  const batch = numberArg(args, '--batch', 5);
  const timeoutS = numberArg(args, '--timeout-s', 900);
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
    const rssBefore = await Promise.all(agents.map((a) => readTreeRssMb(a.pid).catch(() => 0)));
    // Whole trees: the supervisor, its tick worker, and the activation and health commands they reaped.
    const cpuBefore = await Promise.all(agents.map((a) => readTreeCpuSeconds(a.pid).catch(() => 0)));

    const v2 = await pushVersion(world, 'v2');
    await world.commit({ [`sets/${SET}.yaml`]: fleetYaml(world, v2, machines, batch) }, 'app v2');
    const pushedAt = Date.now();
    log('v2 committed; measuring the rollout');
    const totalMs = await waitAllReady(world, v2, n, timeoutS, 'v2');
    const cpuAfter = await Promise.all(agents.map((a) => readTreeCpuSeconds(a.pid).catch(() => 0)));
    const agentCores = cpuAfter.reduce((sum, c, i) => sum + c - (cpuBefore[i] ?? 0), 0) / (totalMs / 1000);
    await new Promise((r) => setTimeout(r, 1500)); // the last ticks' log lines
    const rssAfter = await Promise.all(agents.map((a) => readTreeRssMb(a.pid).catch(() => 0)));
    await procs.stopAll();
    const statusRead = await measureStatusRead(world.storeUrl, SET, 30);

    const rollouts = new Map<string, MachineRollout>();
    const stepMs = new Map<string, number[]>();
    for (const m of machines) {
      const lines = await readLogLines(join(world.root, 'logs', `${m}.log`));
      const r = machineRollout(m, lines, v2, pushedAt);
      if (r) rollouts.set(m, r);
      for (const l of lines) if (l.step !== undefined && l.ms !== undefined && l.time >= pushedAt && l.time <= (r?.commitEnd ?? Infinity)) stepMs.set(l.step, [...(stepMs.get(l.step) ?? []), l.ms]);
    }
    const keep = args.indexOf('--keep-logs');
    if (keep >= 0) await keepLogs(join(world.root, 'logs'), args[keep + 1] ?? '');
    const plan = planRollout({ set: SET, target: v2, machines, settings: { canary: 1, batchSize: { count: batch } } });
    const figures = batchFigures(plan.batches.map((b) => [...b]), rollouts, pushedAt);
    const lastCommit = Math.max(...[...rollouts.values()].map((r) => r.commitEnd));
    printTable(['batch', 'machines', 'gap after previous batch ms', 'duration ms', 'activate+health ms', 'overhead ms'], figures.map((f) => [
      f.index === 0 ? '0 (canary; gap from the commit)' : String(f.index), f.size, f.gapMs.toFixed(0), f.durationMs.toFixed(0), f.proofMs.toFixed(0), f.overheadMs.toFixed(0),
    ]));
    const later = figures.slice(1);
    const overhead = later.map((f) => f.overheadMs);
    const requests = [...rollouts.values()].map((r) => r.storeRequests);
    const ticks = [...rollouts.values()].map((r) => r.ticks);
    log('');
    printTable(['figure', 'measured', 'target', 'floor / note', 'verdict'], [
      [`total rollout v1→v2, commit → all ${n} Ready`, `${(totalMs / 1000).toFixed(1)} s (last commit step at ${((lastCommit - pushedAt) / 1000).toFixed(1)} s)`, '-', `${plan.batches.length} batches`, '-'],
      ['per-batch overhead (batches 1.., gap + duration − activate/health), s', `${spread(overhead.map((x) => x / 1000), 2)}`, '≤ 1 s', 'poll floor: the next batch learns Ready on its next poll: 0–1 s (mean 0.5 s) + one tick', verdict(median(overhead) <= 1000)],
      ['  of which gap after previous batch, s', spread(later.map((f) => f.gapMs / 1000), 2), '', '', ''],
      ['  of which in-batch beyond activate/health, s', spread(later.map((f) => (f.durationMs - f.proofMs) / 1000), 2), '', '', ''],
      ['store requests per machine per rollout', `${(requests.reduce((a, b) => a + b, 0) / n).toFixed(1)} mean; ${spread(requests, 0)}`, '-', `over ${spread(ticks, 0)} ticks per machine`, '-'],
      ['tick steps during the rollout, ms median (count)', ['sync', 'verify', 'declarations', 'gate', 'fetch'].map((k) => `${k} ${median(stepMs.get(k) ?? [0]).toFixed(0)} (${stepMs.get(k)?.length ?? 0})`).join(', '), '', 'one agent per machine would see its own core', ''],
      [`gate's status read of ${statusRead.files} files, after the agents stopped, ms med/p90`, `${medP90(statusRead.sequential)} (readSetStatuses: one get at a time)`, '', `same gets concurrently ${medP90(statusRead.concurrent)}`, ''],
      ['CPU the agents used during the rollout (process trees), cores', agentCores.toFixed(2), '', `this machine: ${cpus().length} cores shared with other work; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`, ''],
      ['first deployment v1 (from process start), s', (firstMs / 1000).toFixed(1), '-', '', '-'],
      ['agent RSS, MB, supervisor + tick worker (after v1 / after v2)', `${spread(rssBefore, 0)} / ${spread(rssAfter, 0)}`, '-', `sum ${(rssAfter.reduce((a, b) => a + b, 0) / 1024).toFixed(1)} GB`, '-'],
    ]);
    const cache = world.refCache?.stats();
    log(`\nrepo served by ${cache ? `the ref cache (hits ${cache.hits}, misses ${cache.misses}, fetches passed to http-backend ${cache.passed})` : 'git http-backend (CGI per request)'}`);
    log(`batches whose overhead > 1 s: ${later.filter((f) => f.overheadMs > 1000).length}/${later.length}`);
  } finally {
    await procs.stopAll();
    await world?.close();
  }
}
