// npm run bench -- scale [--machines N] [--set-size N] [--batch N] [--canary N] [--poll D] [--activation D]
//   [--jitter D] [--heartbeat D] [--idle D] [--store-latency D] [--git-latency D] [--tick D] [--refs N]
//   [--fetch-gets N] [--start-spread D] [--worker-start D] [--json]
// What a fleet costs the shared parts (issue 15): N simulated machines run the real decision code (poll timer,
// cheap poll, repo sync, gate, leases, status reports; bench/lib/sim-*.ts) on a simulated clock against an
// in-memory bucket and a git double that count every request. A deployed fleet idles (per machine-hour,
// busiest second), then a commit changes the first set and its rollout runs to the end (requests per machine,
// per-batch overhead, duration). Each figure is printed beside the issue's "today (projected)" and its target.
// `npm run bench -- scale-real` checks these figures against real agent processes on RGW and the git bridge.
import { AGENT_DEFAULTS } from '../src/declarations/agent-config-defaults.js';
import { parseDuration } from '../src/util/duration.js';
import { requestsOf, requestsWith as of } from './lib/request-tally.js';
import { runScaleSimulation, type ScaleParams, type ScaleRun } from './lib/scale-sim.js';
import { median } from './lib/stats.js';
import { printTable } from './lib/stats.js';
import { verdict } from './lib/percentile.js';

/** What `npm run bench -- scale --help` prints: the synopsis, then what it measures. */
export const usage = "npm run bench -- scale [--machines N] [--set-size N] [--batch N] [--canary N] [--poll D] [--activation D] [--jitter D] [--heartbeat D] [--idle D] [--store-latency D] [--git-latency D] [--tick D] [--refs N] [--fetch-gets N] [--start-spread D] [--worker-start D] [--json]\nWhat a fleet costs the shared parts: N simulated machines run the real decision code against a bucket and a git double that count every request.";

const HOURS_PER_MONTH = 730;
/** S3 Standard list prices, us-east-1: GET and HEAD per 1,000; PUT, COPY, POST and LIST per 1,000; DELETE free. */
const GET_PRICE = 0.0004 / 1000;
const PUT_PRICE = 0.005 / 1000;

function argOf(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function intArg(args: string[], name: string, fallback: number): number {
  const v = argOf(args, name);
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} needs a whole number, got ${v ?? ''}`);
  return n;
}

function msArg(args: string[], name: string, fallback: number): number {
  const v = argOf(args, name);
  if (v === undefined) return fallback;
  const ms = parseDuration(v);
  if (ms === undefined) throw new Error(`${name} needs a duration such as 30s or 250ms, got ${v}`);
  return ms;
}

/** Reads the flags; defaults are the issue's sizing case (10,000 machines, sets of 1,000, batch 50, 30 s poll). */
export function scaleParams(args: string[]): ScaleParams {
  return {
    machines: intArg(args, '--machines', 10_000),
    setSize: intArg(args, '--set-size', 1000),
    batch: intArg(args, '--batch', 50),
    canary: intArg(args, '--canary', 0),
    leaseTtlMs: msArg(args, '--lease-ttl', 5 * 60_000),
    pollIntervalMs: msArg(args, '--poll', AGENT_DEFAULTS.pollIntervalMs),
    jitterMs: msArg(args, '--jitter', AGENT_DEFAULTS.jitterMs),
    statusHeartbeatMs: msArg(args, '--heartbeat', AGENT_DEFAULTS.statusHeartbeatMs),
    tickMs: msArg(args, '--tick', 300),
    workerStartMs: msArg(args, '--worker-start', 1000),
    activationMs: msArg(args, '--activation', 30_000),
    idleMs: msArg(args, '--idle', 30 * 60_000),
    storeLatencyMs: msArg(args, '--store-latency', 20),
    gitLatencyMs: msArg(args, '--git-latency', 20),
    refs: intArg(args, '--refs', 1000),
    fetchGets: intArg(args, '--fetch-gets', 4),
    safetyCheckMs: msArg(args, '--safety-check', AGENT_DEFAULTS.safetyCheckMs),
    pointer: argOf(args, '--pointer') !== 'off',
    ...(argOf(args, '--start-spread') !== undefined ? { startSpreadMs: msArg(args, '--start-spread', 0) } : {}),
  };
}


/** The figures of issue 15's table (and a few more), from one run. */
export function scaleFigures(p: ScaleParams, r: ScaleRun): Record<string, number> {
  const hours = (r.idle.toMs - r.idle.fromMs) / 3_600_000;
  const perMachineHour = (n: number): number => n / p.machines / hours;
  const idleSeconds = (r.idle.toMs - r.idle.fromMs) / 1000;
  const gitBytes = [...r.idle.git.values()].reduce((n, k) => n + k.bytesIn + k.bytesOut, 0);
  const getsPerHour = perMachineHour(of(r.idle.store, ['GET', 'HEAD']));
  const putsPerHour = perMachineHour(of(r.idle.store, ['PUT', 'LIST']));
  const overheads = batchOverheads(p, r);
  return {
    idleGitPerMachineHour: perMachineHour(requestsOf(r.idle.git)),
    idleGitBytesPerMachineHour: perMachineHour(gitBytes),
    idleStorePerMachineHour: perMachineHour(requestsOf(r.idle.store)),
    idleStoreGetPerMachineHour: perMachineHour(of(r.idle.store, ['GET'])),
    idleStoreHeadPerMachineHour: perMachineHour(of(r.idle.store, ['HEAD'])),
    idleStorePutPerMachineHour: perMachineHour(of(r.idle.store, ['PUT'])),
    idleStoreListPerMachineHour: perMachineHour(of(r.idle.store, ['LIST'])),
    idleStoreDeletePerMachineHour: perMachineHour(of(r.idle.store, ['DELETE'])),
    idleMeanGitPerSecond: requestsOf(r.idle.git) / idleSeconds,
    idlePeakGitPerSecond: r.idle.peakGit,
    idleMeanStorePerSecond: requestsOf(r.idle.store) / idleSeconds,
    idlePeakStorePerSecond: r.idle.peakStore,
    commitPeakGitPerSecond: r.commit.peakGit,
    commitPeakStorePerSecond: r.commit.peakStore,
    commitPeakStoreWritesPerSecond: r.commit.peakStoreWrites,
    rolloutStorePerMachine: requestsOf(r.rollout.store) / r.rollout.setSize,
    perBatchOverheadSeconds: overheads.length > 0 ? median(overheads) : 0,
    perBatchOverheadMaxSeconds: overheads.length > 0 ? Math.max(...overheads) : 0,
    rolloutSeconds: (r.rollout.endMs - r.commit.atMs) / 1000,
    rolloutBatches: r.rollout.batchEndsMs.length,
    pollSeconds: p.pollIntervalMs / 1000,
    activationSeconds: p.activationMs / 1000,
    idleS3DollarsPerMonth: (getsPerHour * GET_PRICE + putsPerHour * PUT_PRICE) * 10_000 * HOURS_PER_MONTH,
    idleS3DollarsPerMonthAtN: (getsPerHour * GET_PRICE + putsPerHour * PUT_PRICE) * p.machines * HOURS_PER_MONTH,
  };
}

/** Each batch's overhead after the first (s): its end minus the end of the batch before, less the activation. */
export function batchOverheads(p: ScaleParams, r: ScaleRun): number[] {
  const ends = r.rollout.batchEndsMs;
  return ends.slice(1).map((e, k) => (e - (ends[k] ?? 0) - p.activationMs) / 1000);
}

interface Row {
  key: string;
  label: string;
  today: string;
  target: (f: Record<string, number>) => number | null;
  /** How a figure compares with its target. */
  ok?: (value: number, target: number) => boolean;
}

/** The issue's table: "today (projected)" as the issue measured it, and the target at 10,000 machines. */
const ROWS: Row[] = [
  { key: 'idleGitPerMachineHour', label: 'idle git requests per machine-hour', today: '139', target: () => 4 },
  { key: 'idleStorePerMachineHour', label: 'idle store requests per machine-hour', today: '163', target: () => 130 },
  { key: 'idlePeakGitPerSecond', label: 'idle git peak req/s (target: 3 × mean)', today: '~30 × mean', target: (f) => 3 * (f['idleMeanGitPerSecond'] ?? 0) },
  { key: 'idlePeakStorePerSecond', label: 'idle store peak req/s (target: 3 × mean)', today: '~30 × mean', target: (f) => 3 * (f['idleMeanStorePerSecond'] ?? 0) },
  { key: 'commitPeakStoreWritesPerSecond', label: 'store writes/s when a commit lands (peak)', today: '~6,000', target: () => 500 },
  { key: 'commitPeakStorePerSecond', label: 'store requests/s when a commit lands (peak)', today: '3,500–5,000 GET/s', target: () => null },
  { key: 'rolloutStorePerMachine', label: 'store requests per machine per rollout', today: '1,000–1,600', target: () => 80 },
  { key: 'perBatchOverheadSeconds', label: 'per-batch overhead, s (median)', today: '~26', target: () => 2 },
  { key: 'rolloutSeconds', label: 'rollout duration, s (target: one poll + batches × (activation + 2 s))', today: '~1,200', target: (f) => (f['pollSeconds'] ?? 0) + (f['rolloutBatches'] ?? 0) * ((f['activationSeconds'] ?? 0) + 2) },
  { key: 'idleS3DollarsPerMonth', label: 'idle S3 bill, 10,000 machines, $/month', today: '~4,500', target: () => 600 },
];

function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** Runs the simulation and prints its figures beside the issue's, or one JSON object with --json. */
export async function run(args: string[]): Promise<void> {
  const p = scaleParams(args);
  const r = await runScaleSimulation(p);
  if (!r.rollout.done) throw new Error(`the rollout of ${r.rollout.setSize} machines did not finish in the simulated time allowed`);
  const f = scaleFigures(p, r);
  const targets = Object.fromEntries(ROWS.map((row) => [row.key, row.target(f)]));
  if (args.includes('--json')) {
    const today = Object.fromEntries(ROWS.map((row) => [row.key, row.today]));
    const perBatch = { perBatchOverheadsSeconds: batchOverheads(p, r), batch0DoneSeconds: ((r.rollout.batchEndsMs[0] ?? 0) - r.commit.atMs) / 1000 };
    process.stdout.write(`${JSON.stringify({ ...f, ...perBatch, targets, todayProjected: today, params: p, simulation: { events: r.events, wallSeconds: r.wallMs / 1000 } }, null, 2)}\n`);
    return;
  }
  const out = (s: string): void => void process.stdout.write(`${s}\n`);
  out(`${p.machines} simulated machines in sets of ${p.setSize}, batch ${p.batch} (canary ${p.canary}), poll ${p.pollIntervalMs / 1000} s + jitter ${p.jitterMs / 1000} s, heartbeat ${p.statusHeartbeatMs / 1000} s,`);
  out(`machines started over ${(p.startSpreadMs ?? p.statusHeartbeatMs) / 1000} s (--start-spread; their heartbeats are as spread); activation+health ${p.activationMs / 1000} s; idle measured over ${p.idleMs / 60_000} min; round trips: store ${p.storeLatencyMs} ms, git ${p.gitLatencyMs} ms; tick ${p.tickMs} ms, worker start ${p.workerStartMs} ms\n`);
  printTable(['figure', 'simulated', 'today (issue, projected)', 'target', 'verdict'], ROWS.map((row) => {
    const v = f[row.key] ?? 0;
    const t = targets[row.key] ?? null;
    return [row.label, fmt(v), row.today, t === null ? '-' : `≤ ${fmt(t)}`, t === null ? '-' : verdict(v <= t)];
  }));
  out('');
  printTable(['idle, per machine-hour', 'requests'], [
    ['git: all (head checks, syncs)', fmt(f['idleGitPerMachineHour'] ?? 0)],
    ['git: bytes (bodies, both ways)', fmt(f['idleGitBytesPerMachineHour'] ?? 0)],
    ['store GET', fmt(f['idleStoreGetPerMachineHour'] ?? 0)],
    ['store HEAD', fmt(f['idleStoreHeadPerMachineHour'] ?? 0)],
    ['store PUT', fmt(f['idleStorePutPerMachineHour'] ?? 0)],
    ['store LIST', fmt(f['idleStoreListPerMachineHour'] ?? 0)],
    ['store DELETE', fmt(f['idleStoreDeletePerMachineHour'] ?? 0)],
  ]);
  out('');
  out(`git by kind (idle, whole fleet): ${[...r.idle.git].map(([k, v]) => `${k} ${v.requests}`).join(', ')}`);
  out(`rollout store requests by kind (set of ${r.rollout.setSize}): ${[...r.rollout.store].map(([k, v]) => `${k} ${v.requests}`).join(', ')}`);
  out(`per-batch overhead: median ${fmt(f['perBatchOverheadSeconds'] ?? 0)} s, max ${fmt(f['perBatchOverheadMaxSeconds'] ?? 0)} s over ${(f['rolloutBatches'] ?? 1) - 1} batches`);
  const ends = r.rollout.batchEndsMs;
  out(`  by batch (1..${ends.length - 1}), s: ${batchOverheads(p, r).map(fmt).join(' ')}; batch 0 done ${fmt(((ends[0] ?? 0) - r.commit.atMs) / 1000)} s after the commit`);
  out(`commit burst: git peak ${fmt(f['commitPeakGitPerSecond'] ?? 0)} req/s; idle S3 bill at ${p.machines} machines $${fmt(f['idleS3DollarsPerMonthAtN'] ?? 0)}/month`);
  out(`simulation: ${r.events} events in ${(r.wallMs / 1000).toFixed(1)} s of wall time`);
}
