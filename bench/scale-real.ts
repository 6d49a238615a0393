// npm run bench -- scale-real [--agents N] [--batch N] [--poll D] [--heartbeat D] [--idle D] [--timeout-s S] [--keep-logs DIR] [--save FILE] [--replay FILE] [--sim-runs N] [--json]
// The reality check of `npm run bench -- scale`: N real `flotilla agent` daemons (default 100) in one set on
// loopback, against Ceph RGW (FLOTILLA_TEST_S3_ENDPOINT and keys; `source /work/shared-rgw/env.sh` or see
// CONTRIBUTING) and the git http-backend bridge (behind the benchmarks' ref cache), each behind a proxy that
// counts every request by kind. They deploy v1, idle for --idle (requests per machine-hour), then roll out v2
// (store requests per machine). The simulation then runs with the same parameters (machines, set, batch,
// poll, heartbeat, warm-up, idle window, the activation time and closure-fetch GETs the agents showed, and
// tick times drawn from the agents' own: idle ticks for the idle window, the rollout's ticks for the rollout,
// and the agents' gate request round trip for the fetch-turn and gate decisions the simulation runs itself)
// and each figure is printed beside the median of --sim-runs simulated runs (default 5, each another draw of
// the ticks): they must agree within 20 %. --keep-logs copies the
// agents' logs to DIR before the world is removed; --save writes the run's raw record to FILE;
// --replay FILE --keep-logs DIR runs the simulation and the comparison again on a saved run, without agents.
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createDeployWorld, type DeployWorld } from '../scripts/world/deploy-world.js';
import type { Digest } from '../src/store/digest.js';
import { createS3Client } from '../src/store/s3-store.js';
import { classifyGit, classifyS3, countByKind, startCountingProxy, type CountingProxy, type SeenRequest } from './lib/counting-proxy.js';
import { createProcRegistry, readLogLines, readTreeRssMb, waitUntil, type Proc } from './lib/procs.js';
import { startRefCacheServer } from './lib/ref-cache-server.js';
import { requestsOf, requestsWith, type KindCount } from './lib/request-tally.js';
import { runScaleSimulation, type ScaleParams, type ScaleRun } from './lib/scale-sim.js';
import { machineName } from './lib/sim-world.js';
import { median, printTable } from './lib/stats.js';
import { verdict } from './lib/percentile.js';
import { scaleParams } from './scale.js';
import { readyCount } from './lib/ready-count.js';
import { gateRequestMsOf, rolloutSamplesOf, rolloutTicksOf, type RolloutTick } from './lib/rollout-ticks.js';
import { idleTicksOf, type IdleTick } from './lib/idle-ticks.js';

/** What `npm run bench -- scale-real --help` prints: the synopsis, then what it measures. */
export const usage = "npm run bench -- scale-real [--agents N] [--batch N] [--poll D] [--heartbeat D] [--idle D] [--timeout-s S] [--keep-logs DIR] [--save FILE] [--replay FILE] [--sim-runs N] [--json]\nN real agent daemons against Ceph RGW and git http-backend, every request counted, beside the simulation (`scale`) with the same parameters.";

const SET = 'set-000';
const log = (s: string): void => void process.stderr.write(`${s}\n`);

function s3Env(): { endpoint: string; accessKey: string; secretKey: string; region: string } {
  const endpoint = process.env['FLOTILLA_TEST_S3_ENDPOINT'];
  const accessKey = process.env['FLOTILLA_TEST_S3_ACCESS_KEY'];
  const secretKey = process.env['FLOTILLA_TEST_S3_SECRET_KEY'];
  if (!endpoint || !accessKey || !secretKey) {
    throw new Error('scale-real needs an S3 server: set FLOTILLA_TEST_S3_ENDPOINT, FLOTILLA_TEST_S3_ACCESS_KEY and FLOTILLA_TEST_S3_SECRET_KEY (e.g. `source /work/shared-rgw/env.sh`)');
  }
  return { endpoint, accessKey, secretKey, region: process.env['FLOTILLA_TEST_S3_REGION'] ?? 'us-east-1' };
}

/** A fresh bucket; the AWS_* variables the agents (and this process) read the keys from. Returns its URL through `endpoint`. */
async function createBucket(s3: ReturnType<typeof s3Env>): Promise<(endpoint: string) => string> {
  process.env['AWS_ACCESS_KEY_ID'] = s3.accessKey;
  process.env['AWS_SECRET_ACCESS_KEY'] = s3.secretKey;
  process.env['AWS_REGION'] = s3.region;
  const bucket = `flotilla-scale-${randomBytes(6).toString('hex')}`;
  const client = createS3Client({ bucket, prefix: '', endpoint: s3.endpoint, region: s3.region, url: s3.endpoint });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return (endpoint) => `s3://${bucket}/?${new URLSearchParams({ endpoint, region: s3.region, forcePathStyle: 'true' }).toString()}`;
}

function setYaml(closure: string, platform: string, machines: string[], batch: number): string {
  return [
    `closure: ${closure}`, `platform: ${platform}`, `machines: [${machines.join(', ')}]`,
    'rollout:', '  canary: 0', `  batchSize: ${batch}`, '  leaseTtl: 5m',
    'activate:', '  command: [app/bin/activate]', '  timeout: 20s',
    'health:', '  command: [app/bin/health]', '  initialDelay: 0s', '  interval: 100ms', '  retries: 0', '  timeout: 5s', '',
  ].join('\n');
}

function pushVersion(world: DeployWorld, version: string): Promise<Digest> {
  return world.pushPackage('app', { VERSION: `${version}\n`, 'bin/activate+x': '#!/bin/sh\nsleep 1\n', 'bin/health+x': '#!/bin/sh\nexit 0\n' });
}


function rolloutMedians(s: ReturnType<typeof rolloutSamplesOf>): { workerStartMsMedian: number; coldTickMsMedian: number; warmTickMsMedian: number; afterGateMsMedian: number } {
  const m = (xs: number[]): number => (xs.length === 0 ? NaN : Math.round(median(xs)));
  return { workerStartMsMedian: m(s.workerStartMs), coldTickMsMedian: m(s.coldTickMs), warmTickMsMedian: m(s.warmTickMs), afterGateMsMedian: m(s.afterGateMs) };
}

function asTally(m: Map<string, number>): Map<string, KindCount> {
  return new Map([...m].map(([k, n]) => [k, { requests: n, bytesIn: 0, bytesOut: 0 }]));
}

/** Runs the real fleet, then the simulation with the same parameters, and prints both. */
export async function run(args: string[]): Promise<void> {
  const base = scaleParams(args);
  const agentsArg = args.includes('--agents') ? Number(args[args.indexOf('--agents') + 1]) : 100;
  if (!Number.isInteger(agentsArg) || agentsArg < 1) throw new Error('--agents needs a positive whole number');
  const p: ScaleParams = {
    ...base, machines: agentsArg, setSize: agentsArg, batch: args.includes('--batch') ? base.batch : 10,
    pollIntervalMs: args.includes('--poll') ? base.pollIntervalMs : 10_000, statusHeartbeatMs: args.includes('--heartbeat') ? base.statusHeartbeatMs : 60_000,
    // Several heartbeat periods (a period is the heartbeat plus a tick, a minute or more on a loaded machine).
    idleMs: args.includes('--idle') ? base.idleMs : 6 * 60_000,
    // The shared world recipe's flotilla.yaml has no headPointer: its agents poll git, and so must the simulation.
    pointer: false,
  };
  const replay = args.includes('--replay') ? args[args.indexOf('--replay') + 1] : undefined;
  if (replay !== undefined) {
    // The comparison again, on a saved run and its kept logs: the real agents are not run.
    const logs = args.includes('--keep-logs') ? args[args.indexOf('--keep-logs') + 1] : undefined;
    if (logs === undefined) throw new Error('--replay FILE needs --keep-logs DIR, the logs that run kept');
    // A record of the first --save had the simulation's parameters (with the starts) in place of p, and no RSS.
    const saved = JSON.parse(await readFile(replay, 'utf8')) as Omit<RealRun, 'p' | 'startOffsetsMs' | 'rss'> & Partial<RealRun> & { simParams?: ScaleParams };
    const given = saved.p ?? saved.simParams;
    if (given === undefined) throw new Error(`${replay} is not a record written by scale-real --save`);
    return compare({ ...saved, p: given, startOffsetsMs: saved.startOffsetsMs ?? [...(given.startOffsetsMs ?? [])], rss: saved.rss ?? [] }, logs, args);
  }
  const timeoutS = args.includes('--timeout-s') ? Number(args[args.indexOf('--timeout-s') + 1]) : 900;
  const keepLogs = args.includes('--keep-logs') ? args[args.indexOf('--keep-logs') + 1] : undefined;
  if (args.includes('--keep-logs') && (keepLogs === undefined || keepLogs.startsWith('--'))) throw new Error('--keep-logs needs a directory');
  const saveTo = args.includes('--save') ? args[args.indexOf('--save') + 1] : undefined;
  if (args.includes('--save') && (saveTo === undefined || saveTo.startsWith('--'))) throw new Error('--save needs a file name');
  const s3 = s3Env();
  const urlVia = await createBucket(s3);
  const procs = createProcRegistry();
  const storeProxy = await startCountingProxy(s3.endpoint, classifyS3);
  let gitProxy: CountingProxy | undefined;
  let world: DeployWorld | undefined;
  try {
    const direct = urlVia(s3.endpoint);
    world = await createDeployWorld({
      prefix: 'scale-real', storeUrl: urlVia(storeProxy.url),
      front: async (gitUrl) => {
        const cache = await startRefCacheServer(gitUrl);
        const proxy = await startCountingProxy(cache.url, classifyGit);
        gitProxy = proxy;
        return { url: proxy.url, invalidate: () => cache.invalidate(), close: async () => { await proxy.close(); await cache.close(); } };
      },
    });
    const machines = Array.from({ length: p.machines }, (_, i) => machineName(i));
    const v1 = await pushVersion(world, 'v1');
    await world.commit({ [`sets/${SET}.yaml`]: setYaml(v1, world.platform, machines, p.batch) }, 'v1');
    await mkdir(join(world.root, 'logs'));
    const agents: Proc[] = [];
    const startedAt = Date.now();
    // The simulation starts its machines at the same offsets: machines started together beat together.
    const startOffsetsMs: number[] = [];
    for (const m of machines) {
      const config = await world.agentConfig(m, {
        repo: { url: world.repoUrl, branch: 'main', pollInterval: `${p.pollIntervalMs}ms`, jitter: '0s' },
        statusHeartbeat: `${p.statusHeartbeatMs}ms`,
      });
      // Debug: the supervisor logs each poll's answer, from which the idle ticks' real durations are read.
      agents.push(procs.spawnAgent(config, join(world.root, 'logs', `${m}.log`), { FLOTILLA_LOG_LEVEL: 'debug' }));
      startOffsetsMs.push(Date.now() - startedAt);
    }
    log(`${p.machines} agents started; waiting for all Ready on v1`);
    if (!(await waitUntil(async () => (await readyCount(direct, SET, v1)) === p.machines, timeoutS * 1000, 1000))) throw new Error(`not all ${p.machines} agents Ready on v1 after ${timeoutS} s (logs in ${world.root}/logs)`);
    // Settle past the start-up ticks and one heartbeat round, as the simulation's warm-up does.
    const idleFrom = Math.max(Date.now() + 2 * p.pollIntervalMs, startedAt + p.statusHeartbeatMs + 3 * p.pollIntervalMs);
    await new Promise((r) => setTimeout(r, idleFrom - Date.now()));
    log(`idle window: ${p.idleMs / 1000} s`);
    await new Promise((r) => setTimeout(r, p.idleMs / 2));
    const rss = await Promise.all(agents.map((a) => readTreeRssMb(a.pid).catch(() => 0)));
    await new Promise((r) => setTimeout(r, idleFrom + p.idleMs - Date.now()));
    const idleTo = Date.now();
    const v2 = await pushVersion(world, 'v2');
    const commitAt = Date.now();
    await world.commit({ [`sets/${SET}.yaml`]: setYaml(v2, world.platform, machines, p.batch) }, 'v2');
    log('v2 committed; waiting for the rollout');
    if (!(await waitUntil(async () => (await readyCount(direct, SET, v2)) === p.machines, timeoutS * 1000, 500))) throw new Error(`rollout of v2 did not finish in ${timeoutS} s`);
    const rolloutEnd = Date.now();
    await procs.stopAll();
    if (keepLogs !== undefined) await cp(join(world.root, 'logs'), keepLogs, { recursive: true });
    const record: RealRun = { p, startedAt, idleFrom, idleTo, commitAt, rolloutEnd, startOffsetsMs, rss, git: gitProxy?.seen ?? [], store: storeProxy.seen };
    if (saveTo !== undefined) await writeFile(saveTo, JSON.stringify(record));
    await compare(record, join(world.root, 'logs'), args);
  } finally {
    await procs.stopAll();
    await world?.close();
    await storeProxy.close();
  }
}

/** What the real part of a run measured: enough to run the comparison again later (--save, then --replay). */
interface RealRun {
  p: ScaleParams;
  startedAt: number;
  idleFrom: number;
  idleTo: number;
  commitAt: number;
  rolloutEnd: number;
  startOffsetsMs: number[];
  rss: number[];
  git: SeenRequest[];
  store: SeenRequest[];
}

/** Reads the agents' logs in `logsDir`, runs the simulation with the parameters they showed, and prints both. */
async function compare(r: RealRun, logsDir: string, args: string[]): Promise<void> {
  const { p, startedAt, idleFrom, idleTo, commitAt, rolloutEnd, startOffsetsMs, rss } = r;
  const stepMs = new Map<string, number[]>();
  const idleTicks: IdleTick[] = [];
  const rolloutTicks: RolloutTick[] = [];
  const machines = Array.from({ length: p.machines }, (_, i) => machineName(i));
  const gateRequestMs: number[] = [];
  for (const m of machines) {
    const lines = await readLogLines(join(logsDir, `${m}.log`));
    for (const l of lines) {
      if (l.step !== undefined && l.ms !== undefined && l.time >= commitAt) stepMs.set(l.step, [...(stepMs.get(l.step) ?? []), l.ms]);
    }
    idleTicks.push(...idleTicksOf(lines, idleFrom, idleTo));
    // Ticks begun from the commit to the last Ready: the rollout's own pace, not the idle heartbeats'.
    rolloutTicks.push(...rolloutTicksOf(lines, commitAt, rolloutEnd));
    gateRequestMs.push(...gateRequestMsOf(lines, commitAt, rolloutEnd));
  }
  // The idle ticks as this machine ran them (its load included): a new worker's start, then the tick.
  const workerStartMs = Math.round(median(idleTicks.map((t) => t.startMs)));
  const tickMs = Math.round(median(idleTicks.map((t) => t.tickMs)));
  const activationMs = Math.round(median(stepMs.get('activate') ?? [1000]) + median(stepMs.get('health') ?? [0]));
  const realIdleGit = asTally(countByKind(r.git, idleFrom, idleTo));
  const realIdleStore = asTally(countByKind(r.store, idleFrom, idleTo));
  const realRollout = asTally(countByKind(r.store, commitAt, rolloutEnd));
  const fetchGets = Math.round((requestsWith(new Map([...realRollout].filter(([k]) => !/ (status|leases|quarantine|probe|ready)$/.test(k))), ['GET', 'HEAD', 'LIST'])) / p.machines);

  const lastStart = Math.max(0, ...startOffsetsMs);
  const samples = idleTicks.length > 0 ? { workerStartMs: idleTicks.map((t) => t.startMs), tickMs: idleTicks.map((t) => t.tickMs) } : undefined;
  const rolloutSamples = rolloutSamplesOf(rolloutTicks, commitAt);
  // A gate request's round trip as the agents saw it in the rollout (hundreds of ms at a load of 30 or more,
  // against the simulation's storeLatencyMs): the round trip of the simulation's fetch-turn and gate requests,
  // whose time rolloutTicksOf keeps out of the tick draws (the other requests' time is in the draws).
  const rolloutStoreLatencyMs = gateRequestMs.length > 0 ? Math.round(median(gateRequestMs)) : undefined;
  const rolling = { ...rolloutSamples, ...(rolloutStoreLatencyMs !== undefined ? { decisionRequestMs: rolloutStoreLatencyMs } : {}) };
  const simParams: ScaleParams = { ...p, activationMs, fetchGets, startOffsetsMs, warmupMs: idleFrom - startedAt - lastStart, tickMs, workerStartMs, ...(samples ? { samples } : {}), rolloutSamples: rolling };
  // One simulated run is one draw of every tick: its rollout figures move by ±20 % from one draw to the next
  // (another seed salt), as a real run's would from one run to the next. The real run is compared with the
  // median of several simulated ones, each an equally likely run of the same fleet.
  const simRuns = args.includes('--sim-runs') ? Number(args[args.indexOf('--sim-runs') + 1]) : 5;
  if (!Number.isInteger(simRuns) || simRuns < 1) throw new Error('--sim-runs needs a positive whole number');
  const hours = p.idleMs / 3_600_000;
  const perHour = (x: number): number => x / p.machines / hours;
  const sims: Array<{ sim: ScaleRun; values: number[] }> = [];
  for (let i = 0; i < simRuns; i++) {
    log(`running the simulation with the same parameters (${i + 1} of ${simRuns})`);
    const sim = await runScaleSimulation({ ...simParams, ...(i > 0 ? { seedSalt: `#${i}` } : {}) });
    sims.push({ sim, values: [perHour(requestsOf(sim.idle.git)), perHour(requestsOf(sim.idle.store)), requestsOf(sim.rollout.store) / sim.rollout.setSize, (sim.rollout.endMs - sim.commit.atMs) / 1000] });
  }
  const reals = [perHour(requestsOf(realIdleGit)), perHour(requestsOf(realIdleStore)), requestsOf(realRollout) / p.machines, (rolloutEnd - commitAt) / 1000];
  const labels = ['idle git requests per machine-hour', 'idle store requests per machine-hour', 'rollout store requests per machine', 'rollout duration, s'];
  const figures = labels.map((label, k) => {
    const real = reals[k] ?? NaN;
    const runs = sims.map((x) => x.values[k] ?? NaN);
    const simulated = median(runs);
    return { label, real, simulated, simulatedMin: Math.min(...runs), simulatedMax: Math.max(...runs), ratio: real === 0 ? (simulated === 0 ? 1 : Infinity) : simulated / real };
  });
  // The run whose rollout requests are the median's: its requests by kind and batch ends are printed.
  const byRollout = [...sims].sort((a, b) => (a.values[2] ?? 0) - (b.values[2] ?? 0));
  const sim = (byRollout[Math.floor((byRollout.length - 1) / 2)] ?? fail()).sim;
  if (args.includes('--json')) {
    process.stdout.write(`${JSON.stringify({
      agents: p.machines, params: simParams, simRuns, figures, loadAverage: loadavg(),
      idleTicks: { count: idleTicks.length, workerStartMsMedian: workerStartMs, tickMsMedian: tickMs },
      rolloutTicks: { count: rolloutTicks.length, ...rolloutMedians(rolloutSamples) }, rolloutStoreLatencyMs: rolloutStoreLatencyMs ?? null, rssMbMedian: median(rss), rssMbSum: rss.reduce((a, b) => a + b, 0),
      real: { idleGit: Object.fromEntries(countByKind(r.git, idleFrom, idleTo)), idleStore: Object.fromEntries(countByKind(r.store, idleFrom, idleTo)), rollout: Object.fromEntries(countByKind(r.store, commitAt, rolloutEnd)) },
      simulated: { idleGit: Object.fromEntries([...sim.idle.git].map(([k, v]) => [k, v.requests])), idleStore: Object.fromEntries([...sim.idle.store].map(([k, v]) => [k, v.requests])), rollout: Object.fromEntries([...sim.rollout.store].map(([k, v]) => [k, v.requests])) },
    }, null, 2)}\n`);
    return;
  }
  const out = (s: string): void => void process.stdout.write(`${s}\n`);
  out(`${p.machines} real agents, one set, batch ${p.batch}, poll ${p.pollIntervalMs / 1000} s, heartbeat ${p.statusHeartbeatMs / 1000} s, idle ${p.idleMs / 1000} s; activation+health ${activationMs} ms, closure fetch ${fetchGets} requests (from the agents)`);
  out(`idle ticks (${idleTicks.length}, from the agents' logs): worker start ${workerStartMs} ms, tick ${tickMs} ms (medians; the simulation draws from all of them); load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const rm = rolloutMedians(rolloutSamples);
  out(`rollout ticks (${rolloutTicks.length}: ${rolloutSamples.coldTickMs.length} in a started worker, ${rolloutSamples.warmTickMs.length} warm): worker start ${rm.workerStartMsMedian} ms, tick ${rm.coldTickMsMedian} ms started / ${rm.warmTickMsMedian} ms warm, without gate, turn follow, activation, health and the ${rm.afterGateMsMedian} ms after a passed gate (medians; the simulation's rollout ticks draw from them); a gate request took ${rolloutStoreLatencyMs ?? '-'} ms (median of ${gateRequestMs.length} gate steps' first decisions), the simulation's fetch-turn and gate requests too (its others ${p.storeLatencyMs} ms)\n`);
  printTable(['figure', 'real (proxies)', `simulated, median of ${simRuns}`, 'simulated runs', 'sim / real', 'within 20 %'], figures.map((f) => [f.label, f.real.toFixed(1), f.simulated.toFixed(1), `${f.simulatedMin.toFixed(1)}–${f.simulatedMax.toFixed(1)}`, f.ratio.toFixed(2), f.label.startsWith('rollout duration') ? '-' : verdict(Math.abs(f.ratio - 1) <= 0.2)]));
  out('');
  out(`real idle git by kind: ${[...countByKind(r.git, idleFrom, idleTo)].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out(`(the simulated run whose rollout requests are the median's:)`);
  out(`sim  idle git by kind: ${[...sim.idle.git].map(([k, v]) => `${k} ${v.requests}`).join(', ')}`);
  out(`real idle store by kind: ${[...countByKind(r.store, idleFrom, idleTo)].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out(`sim  idle store by kind: ${[...sim.idle.store].map(([k, v]) => `${k} ${v.requests}`).join(', ')}`);
  out(`real rollout store by kind: ${[...countByKind(r.store, commitAt, rolloutEnd)].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out(`sim  rollout store by kind: ${[...sim.rollout.store].map(([k, v]) => `${k} ${v.requests}`).join(', ')}`);
  out(`sim  batch ends, s after the commit: ${sim.rollout.batchEndsMs.map((t) => ((t - sim.commit.atMs) / 1000).toFixed(1)).join(', ')}`);
  out(`agent RSS (process trees) mid-idle: median ${median(rss).toFixed(0)} MB, sum ${(rss.reduce((a, b) => a + b, 0) / 1024).toFixed(2)} GB`);

}

function fail(): never {
  throw new Error('scale-real ran no simulation');
}
