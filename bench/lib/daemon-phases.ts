// Phases (c) and (d) of `bench agent`: commit-to-converged through a real agent daemon (webhook or poll
// timer), and idle RSS/CPU sampled from /proc.
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readCpuSeconds, readLogLines, readRssMb, waitUntil } from './procs.js';
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

/** Idle figures of one process over the sampling window. */
export interface IdleSample {
  rssMb: number[];
  cpuSeconds: number;
  wallSeconds: number;
}

/** Samples VmRSS of every pid once a second for `seconds`, and its utime+stime over the window. */
export async function sampleIdle(pids: Map<string, number>, seconds: number): Promise<Map<string, IdleSample>> {
  const cpu0 = new Map<string, number>();
  const out = new Map<string, IdleSample>();
  for (const [name, pid] of pids) {
    cpu0.set(name, await readCpuSeconds(pid));
    out.set(name, { rssMb: [], cpuSeconds: 0, wallSeconds: 0 });
  }
  const t0 = performance.now();
  for (let s = 0; s < seconds; s++) {
    for (const [name, pid] of pids) out.get(name)?.rssMb.push(await readRssMb(pid));
    await new Promise((r) => setTimeout(r, 1000));
  }
  const wall = (performance.now() - t0) / 1000;
  for (const [name, pid] of pids) {
    const sample = out.get(name);
    if (sample === undefined) continue;
    sample.cpuSeconds = (await readCpuSeconds(pid)) - (cpu0.get(name) ?? 0);
    sample.wallSeconds = wall;
  }
  return out;
}
