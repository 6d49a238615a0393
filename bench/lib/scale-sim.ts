// The scale simulation's scenario: a deployed fleet idles, then a commit changes one set and its rollout runs to
// the end. Returns the raw tallies and timings; bench/scale.ts turns them into the figures of issue 15.
import { setPlanOf } from '../../src/rollout/set-plan.js';
import type { Digest } from '../../src/store/digest.js';
import { GitDouble } from './git-double.js';
import { MemoryBucket } from './memory-store.js';
import { RequestTally, tallySince, type KindCount } from './request-tally.js';
import { SimAgent, type SimAgentConfig, type SimShared } from './sim-agent.js';
import { SimClock } from './sim-clock.js';
import { agentConfigFor, declarationsFor, digestFor, machineName, setName, setOf, type FleetShape } from './sim-world.js';
import { advanceHeadPointer } from '../../src/publish/advance-head-pointer.js';
import type { Store } from '../../src/store/store.js';

/** Everything the scenario is run with. */
export interface ScaleParams extends FleetShape, SimAgentConfig {
  activationMs: number;
  idleMs: number;
  storeLatencyMs: number;
  gitLatencyMs: number;
  refs: number;
  fetchGets: number;
  /** Time from the last agent's start to the idle window; default a heartbeat and three polls, at least 5 min. */
  warmupMs?: number;
  /**
   * When each machine's agent starts, ms after the first (scale-real passes its agents' own). Default: spread
   * evenly over one heartbeat, the steady state of a fleet whose machines did not all start in the same
   * second, so their heartbeats are spread too (machines started together beat together: see startSpread).
   */
  startOffsetsMs?: readonly number[];
  /** Without startOffsetsMs: the span the starts are spread over (default statusHeartbeatMs; 0 starts all at once). */
  startSpreadMs?: number;
}

/** What the scenario measured. */
export interface ScaleRun {
  idle: { fromMs: number; toMs: number; git: Map<string, KindCount>; store: Map<string, KindCount>; peakGit: number; peakStore: number };
  commit: { atMs: number; peakGit: number; peakStore: number; peakStoreWrites: number };
  rollout: { setSize: number; store: Map<string, KindCount>; batchEndsMs: number[]; endMs: number; done: boolean };
  events: number;
  wallMs: number;
}

/** Monday 5 Jan 2026, 00:00 UTC: a fixed epoch, so the polls' phases are the same on every run. */
const EPOCH = Date.UTC(2026, 0, 5);
const isWrite = (kind: string): boolean => kind.startsWith('PUT ') || kind.startsWith('DELETE ');

/** Runs the scenario on a simulated clock. Throws when the rollout does not finish within `limitMs` of simulated time. */
export async function runScaleSimulation(p: ScaleParams, limitMs = 6 * 3_600_000): Promise<ScaleRun> {
  const started = Date.now();
  const clock = new SimClock(EPOCH);
  const gitTally = new RequestTally();
  const storeTally = new RequestTally();
  const writeTally = new RequestTally(isWrite);
  const rolloutTally = new RequestTally();
  const bucket = new MemoryBucket(clock, p.storeLatencyMs);
  const git = new GitDouble(clock, gitTally, p.refs, p.gitLatencyMs, 4096);
  const sets = Math.ceil(p.machines / p.setSize);
  const v1 = Array.from({ length: sets }, () => digestFor('v1'));
  const storeUrl = 's3://simulated-bucket/';
  const declsAt = new Map([[git.head, declarationsFor(p, v1, storeUrl)]]);
  const shared: SimShared = {
    clock, git, declsAt, work: { activationMs: p.activationMs, fetchGets: p.fetchGets }, ready: new Map<string, number>(), agentConfig: agentConfigFor(p), storeUrl,
  };
  // CI publishes the head pointer after each commit (`flotilla head publish`); its requests are not the fleet's.
  const ci = bucket.view([new RequestTally()]);
  if (p.pointer) await publishPointer(ci, git.head, clock);
  const rolling = setName(0);
  const agents: SimAgent[] = [];
  for (let i = 0; i < p.machines; i++) {
    const set = setOf(i, p);
    const tallies = set === rolling ? [storeTally, writeTally, rolloutTally] : [storeTally, writeTally];
    agents.push(new SimAgent(machineName(i), p, shared, bucket.view(tallies), new Map([[set, digestFor('v1')]])));
  }
  const offsets = startOffsets(p);
  agents.forEach((a, i) => clock.after(offsets[i] ?? 0, () => a.start()));

  // Warm up: the start-up ticks, their probes and first reports, and a heartbeat round, are not "idle". As
  // scale-real does with its agents, the idle window opens two polls after every machine reported Ready at
  // the earliest: a start-up tick slower than the warm-up must not be counted as idle.
  const allReady = (): boolean => [...v1.keys()].reduce((n, k) => n + (shared.ready.get(`${setName(k)}@${v1[k] as string}`) ?? 0), 0) >= p.machines;
  await clock.runWhile(allReady, limitMs);
  const warm = Math.max(clock.monotonicMs() + 2 * p.pollIntervalMs, Math.max(0, ...offsets) + (p.warmupMs ?? Math.max(5 * 60_000, p.statusHeartbeatMs + 3 * p.pollIntervalMs)));
  await clock.runUntil(warm);
  const g0 = gitTally.snapshot();
  const s0 = storeTally.snapshot();
  await clock.runUntil(warm + p.idleMs);
  const idle = {
    fromMs: warm, toMs: warm + p.idleMs, git: tallySince(gitTally.snapshot(), g0), store: tallySince(storeTally.snapshot(), s0),
    peakGit: gitTally.peakPerSecond(warm, warm + p.idleMs), peakStore: storeTally.peakPerSecond(warm, warm + p.idleMs),
  };

  // A commit changes the first set's closure: the whole fleet sees a new head, that set rolls out.
  const v2 = [digestFor('v2'), ...v1.slice(1)] as Digest[];
  const atMs = clock.monotonicMs();
  shared.rolloutFromMs = atMs;
  const head = git.commit();
  const decls = declarationsFor(p, v2, storeUrl);
  declsAt.set(head, decls);
  if (p.pointer) await publishPointer(ci, head, clock);
  const key = `${rolling}@${v2[0] as string}`;
  const members = agents.filter((_, i) => setOf(i, p) === rolling);
  const r0 = rolloutTally.snapshot();
  const done = await clock.runWhile(() => (shared.ready.get(key) ?? 0) >= members.length, limitMs);
  const endMs = clock.monotonicMs();
  const plan = setPlanOf(decls, decls.sets.get(rolling) ?? fail(rolling), machineName(0));
  const byName = new Map(members.map((a) => [a.name, a]));
  const batchEndsMs = plan.batches.map((b) => Math.max(...b.map((m) => byName.get(m)?.readyAt.get(key) ?? Infinity)));
  const rollout = { setSize: members.length, store: tallySince(rolloutTally.snapshot(), r0), batchEndsMs, endMs, done };
  // The commit's burst: every machine's next poll sees the new head within one interval (plus jitter).
  const burstEnd = atMs + 2 * p.pollIntervalMs + p.jitterMs;
  const commit = { atMs, peakGit: gitTally.peakPerSecond(atMs, burstEnd), peakStore: storeTally.peakPerSecond(atMs, endMs), peakStoreWrites: writeTally.peakPerSecond(atMs, endMs) };
  for (const a of agents) await a.stop();
  return { idle, commit, rollout, events: clock.events, wallMs: Date.now() - started };
}

/**
 * Each machine's start offset: as given, or spread evenly over startSpreadMs by a low-discrepancy sequence
 * (golden ratio), so that every set, not only the fleet as a whole, has its starts spread.
 */
function startOffsets(p: ScaleParams): number[] {
  if (p.startOffsetsMs !== undefined) return Array.from({ length: p.machines }, (_, i) => p.startOffsetsMs?.[i] ?? 0);
  const spread = p.startSpreadMs ?? p.statusHeartbeatMs;
  return Array.from({ length: p.machines }, (_, i) => Math.floor(((i * 0.6180339887498949) % 1) * spread));
}

function fail(set: string): never {
  throw new Error(`the simulated repo lost set ${set}`);
}

/** CI's `flotilla head publish` after a commit: the real conditional advance, on the simulated clock. */
async function publishPointer(store: Store, commit: string, clock: SimClock): Promise<void> {
  const writing = advanceHeadPointer({ store, branch: 'main', commit, writer: 'ci', descends: () => Promise.resolve(true), now: () => clock.now() });
  await clock.runWhile(() => false, 1000);
  await writing;
}
