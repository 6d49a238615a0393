// Phases (c) and (d) of `bench agent`: commit-to-converged through a real agent daemon (webhook or poll
// timer), and idle RSS/CPU sampled from /proc.
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readCpuSeconds, readDescendants, readLogLines, readRssMb, readTreeCpuSeconds, readTreeRssMb, waitUntil } from './procs.js';
import { setYaml, type BenchWorld } from './world.js';

/** currentDigest of `set` in the agent's local STATE/status.json; null when absent or unreadable. */
export async function statusDigest(stateDir: string, set: string): Promise<string | null> {
  try {
    const s = JSON.parse(await readFile(join(stateDir, 'status.json'), 'utf8')) as { sets?: Array<{ set: string; currentDigest: string | null }> };
    return s.sets?.find((x) => x.set === set)?.currentDigest ?? null;
  } catch {
    return null;
  }
}

/** POSTs a GitHub-style push event to `url`, signed with HMAC-SHA256; throws unless the agent answers `expect`. */
export async function postWebhook(url: string, secret: string, oid: string, event = 'push', expect = 202): Promise<void> {
  const body = JSON.stringify({ ref: 'refs/heads/main', after: oid, repository: { full_name: 'ops/deploy' } });
  const sig = createHmac('sha256', secret).update(body).digest('hex');
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': event, 'x-hub-signature-256': `sha256=${sig}` }, body });
  await res.arrayBuffer();
  if (res.status !== expect) throw new Error(`webhook ${url} answered ${res.status}, expected ${expect}`);
}

/** One bump's figures: commit+push time, trigger-to-converged, and the agent's own fetch and switch step times. */
export interface ConvergeRound {
  commitMs: number;
  convergeMs: number;
  fetchMs: number | undefined;
  switchMs: number | undefined;
}

/** Options of measureConverge. */
export interface ConvergeOptions {
  world: BenchWorld;
  set: string;
  machines: string[];
  /** The daemon whose status file is watched, and its log. */
  stateDir: string;
  logFile: string;
  rounds: number;
  /** Called right after the commit reaches the served repo (e.g. POST the webhook); none for the poll timer. */
  trigger?: (oid: string) => Promise<void>;
  label: string;
  /** Wait a random 0..N ms before each commit, so the commit falls at a random phase of a poll timer. */
  randomDelayMs?: number;
  /** Awaited before each round (e.g. until the daemon's worker has retired). */
  beforeRound?: () => Promise<void>;
}

/**
 * Each round pushes a new closure, commits a signed bump of the set and publishes it, then (clock starts)
 * fires the trigger and waits until the daemon's status file names the new digest. Throws after 60 s.
 */
export async function measureConverge(o: ConvergeOptions): Promise<ConvergeRound[]> {
  const out: ConvergeRound[] = [];
  for (let i = 0; i < o.rounds; i++) {
    // Without this, each commit lands just after the tick that converged the previous one, always the
    // same distance before the next cron firing: the poll figure would be phase-locked near its worst case.
    if (o.randomDelayMs) await new Promise((r) => setTimeout(r, Math.random() * (o.randomDelayMs ?? 0)));
    await o.beforeRound?.();
    const digest = await o.world.pushPackage('app', { VERSION: `${o.label}-${i}\n`, 'bin/run+x': '#!/bin/sh\nexit 0\n' });
    const c0 = performance.now();
    const oid = await o.world.commit({ [`sets/${o.set}.yaml`]: setYaml({ closure: digest, platform: o.world.platform, machines: o.machines }) }, `${o.label} ${i}`);
    const t0 = performance.now();
    if (o.trigger) await o.trigger(oid);
    if (!(await waitUntil(async () => (await statusDigest(o.stateDir, o.set)) === digest, 60_000, 2))) {
      throw new Error(`${o.label}: the agent did not converge on ${digest} within 60 s (log ${o.logFile})`);
    }
    const t1 = performance.now();
    const steps = (await readLogLines(o.logFile)).filter((l) => l.digest === digest);
    out.push({ commitMs: t0 - c0, convergeMs: t1 - t0, fetchMs: steps.find((l) => l.step === 'fetch')?.ms, switchMs: steps.find((l) => l.step === 'switch')?.ms });
  }
  return out;
}

/** Idle figures of one daemon over the sampling window: the supervisor alone and its whole process tree. */
export interface IdleSample {
  /** VmRSS of the process itself, once a second (MiB). */
  rssMb: number[];
  /** VmRSS of the process and its live descendants (the tick worker when one runs), once a second. */
  treeRssMb: number[];
  /** The process's own utime+stime over the window. */
  cpuSeconds: number;
  /** The tree's CPU over the window, including children reaped meanwhile (cutime+cstime). */
  treeCpuSeconds: number;
  /** Most descendants seen alive at one sample (0: the worker stayed retired all along). */
  maxChildren: number;
  wallSeconds: number;
}

/** Samples RSS (process and tree) of every pid once a second for `seconds`, and their CPU over the window. */
export async function sampleIdle(pids: Map<string, number>, seconds: number): Promise<Map<string, IdleSample>> {
  const cpu0 = new Map<string, [number, number]>();
  const out = new Map<string, IdleSample>();
  for (const [name, pid] of pids) {
    cpu0.set(name, [await readCpuSeconds(pid), await readTreeCpuSeconds(pid)]);
    out.set(name, { rssMb: [], treeRssMb: [], cpuSeconds: 0, treeCpuSeconds: 0, maxChildren: 0, wallSeconds: 0 });
  }
  const t0 = performance.now();
  for (let s = 0; s < seconds; s++) {
    for (const [name, pid] of pids) {
      const sample = out.get(name);
      if (sample === undefined) continue;
      sample.rssMb.push(await readRssMb(pid));
      sample.treeRssMb.push(await readTreeRssMb(pid));
      sample.maxChildren = Math.max(sample.maxChildren, (await readDescendants(pid)).length);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const wall = (performance.now() - t0) / 1000;
  for (const [name, pid] of pids) {
    const sample = out.get(name);
    if (sample === undefined) continue;
    const [own, tree] = cpu0.get(name) ?? [0, 0];
    sample.cpuSeconds = (await readCpuSeconds(pid)) - own;
    sample.treeCpuSeconds = (await readTreeCpuSeconds(pid)) - tree;
    sample.wallSeconds = wall;
  }
  return out;
}

/** Waits until `pid` has no live child (its tick worker retired); false after `timeoutMs`. */
export function waitRetired(pid: number, timeoutMs: number): Promise<boolean> {
  return waitUntil(async () => (await readDescendants(pid)).length === 0, timeoutMs, 100);
}

/** One worker life: from a webhook while retired to the worker's exit after keepWarm. */
export interface WorkerCycle {
  /** CPU of the whole tree over the cycle: fork, module load, agent build, one no-op tick, exit (s). */
  cpuSeconds: number;
  /** Webhook to the fresh worker's "tick finished" line (ms): what a tick pays for a cold worker. */
  firstTickMs: number;
}

/**
 * Measures `rounds` worker lives on a retired daemon: POSTs the webhook (nothing changed: a no-op tick,
 * as a status heartbeat is), waits for the tick's log line and for the worker to retire, and reads the
 * tree's CPU before and after (the exited worker's time is in the supervisor's cutime/cstime).
 */
export async function measureWorkerCycles(o: { pid: number; logFile: string; rounds: number; trigger: () => Promise<void>; retireTimeoutMs: number }): Promise<WorkerCycle[]> {
  const out: WorkerCycle[] = [];
  for (let i = 0; i < o.rounds; i++) {
    if (!(await waitRetired(o.pid, o.retireTimeoutMs))) throw new Error(`daemon ${o.pid} kept its worker (log ${o.logFile})`);
    const before = (await readLogLines(o.logFile)).filter((l) => l.msg === 'tick finished').length;
    const cpu0 = await readTreeCpuSeconds(o.pid);
    const t0 = performance.now();
    await o.trigger();
    if (!(await waitUntil(async () => (await readLogLines(o.logFile)).filter((l) => l.msg === 'tick finished').length > before, 60_000, 2))) {
      throw new Error(`no tick after the webhook (log ${o.logFile})`);
    }
    const firstTickMs = performance.now() - t0;
    if (!(await waitRetired(o.pid, o.retireTimeoutMs))) throw new Error(`daemon ${o.pid} kept its worker (log ${o.logFile})`);
    out.push({ cpuSeconds: (await readTreeCpuSeconds(o.pid)) - cpu0, firstTickMs });
  }
  return out;
}
