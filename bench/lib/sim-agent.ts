// One simulated `flotilla agent` daemon: the real poll timer (interval-trigger.ts on the simulated clock), the
// real single-flight queue, the supervisor's real cheap-poll rule (cheap-poll.ts) with the head check against
// the git double, and a tick made of the real decisions that touch the shared parts: the repo sync, the
// precondition probe kept for a day (probe-memo.ts's rule), each set's gate and leases (sim-set.ts) and the
// status reports written on change or heartbeat (tick.ts's writeStatuses, with report-due.ts) and the Ready
// marker that follows the report turning Ready.
import { pino, type Logger } from 'pino';
import { answerPoll, type PollBasis, type PollProbe } from '../../src/agent/cheap-poll.js';
import { HeadReader } from '../../src/agent/head-reader.js';
import { startIntervalTrigger } from '../../src/agent/interval-trigger.js';
import { createSingleFlight, type SingleFlight } from '../../src/agent/single-flight.js';
import { lastTickOf } from '../../src/agent/worker-policy.js';
import type { AgentConfig, Declarations, SetDeclaration } from '../../src/declarations/types.js';
import type { SetContext, TickPorts } from '../../src/reconcile/context.js';
import { PROBE_TTL_MS } from '../../src/reconcile/probe-memo.js';
import { recoverSlot } from '../../src/reconcile/recover-lease.js';
import { exitCodeOf, toMachineStatus, type SetOutcome } from '../../src/reconcile/set-outcome.js';
import { StagedMemo } from '../../src/reconcile/staged-memo.js';
import { GateMemory } from '../../src/rollout/gate-memory.js';
import { LeaseObserver } from '../../src/rollout/lease-observer.js';
import type { RolloutPlan } from '../../src/rollout/planner.js';
import { markReadyAfterReport } from '../../src/rollout/ready-marker.js';
import { membersOf, setPlanOf } from '../../src/rollout/set-plan.js';
import type { MachineStatus } from '../../src/status/machine-status.js';
import { DEFAULT_STALE_AFTER_MS } from '../../src/status/readiness.js';
import { reportDue } from '../../src/status/report-due.js';
import { writeMachineStatus } from '../../src/status/status-io.js';
import { probeConditionalWrites } from '../../src/store/probe.js';
import type { GitDouble } from './git-double.js';
import type { SimStore } from './memory-store.js';
import type { SimClock } from './sim-clock.js';
import { convergeSimSet, type SimSetState, type SimWork } from './sim-set.js';

/**
 * How many of the agents' rollout ticks nearest in time since the commit a rollout tick's draw takes from
 * (rollout-ticks.ts RolloutSamples): about one batch's worth in scale-real (batch 10), since a batch's
 * machines switch together and their ticks are the ones taken at that moment's load; the load then follows
 * the rollout from the commit's burst (warm ticks ~17 s) to the last batch (~0.7 s).
 */
const NEAR_SAMPLES = 10;

/** The agent config fields the simulation honours. */
export interface SimAgentConfig {
  pollIntervalMs: number;
  jitterMs: number;
  statusHeartbeatMs: number;
  /** A full tick in a running worker (sync, verify, parse, steps, reports), ms on the simulated clock. */
  tickMs: number;
  /**
   * A new tick worker's start (fork, module load, agent build), paid by a tick after the last one retired
   * (keepWarm): every heartbeat tick of an idle machine. Polls that fall due meanwhile merge into the tick.
   */
  workerStartMs: number;
  /** repo.safetyCheck: the longest an unchanged head pointer is trusted before git is asked. */
  safetyCheckMs: number;
  /**
   * Measured durations to draw each worker start and tick from instead of the two constants (scale-real
   * passes its agents'): real ticks vary with load, and that variance is what spreads machines' heartbeats
   * apart over time. Drawn by a generator seeded with the machine's name, so runs repeat.
   */
  samples?: { workerStartMs: readonly number[]; tickMs: readonly number[] };
  /**
   * Mixed into each machine's seed: another salt is another equally likely run of the same fleet (scale-real
   * runs several and compares their median, since one run's draws move its rollout figures by ±20 %).
   */
  seedSalt?: string;
  /**
   * The same for the ticks that begin once the rollout's commit has landed (SimShared.rolloutFromMs): scale-real
   * passes its agents' rollout ticks (rollout-ticks.ts), which are not the idle heartbeats' (a follow runs in a
   * warm worker; the idle ticks' load is another). A started worker's tick and a warm one's are drawn apart;
   * `workerStartMs[i]` and `coldTickMs[i]` are one tick's.
   */
  rolloutSamples?: {
    workerStartMs: readonly number[]; coldTickMs: readonly number[]; warmTickMs: readonly number[]; afterGateMs?: readonly number[];
    /** When each sample's tick began, ms after the commit (rollout-ticks.ts RolloutSamples): draws take the nearest. */
    coldAtMs?: readonly number[]; warmAtMs?: readonly number[]; afterGateAtMs?: readonly number[];
    /** A fetch-turn or gate request's round trip as the agents took it (their decisions' time over their requests), ms. */
    decisionRequestMs?: number;
  };
}

/** The shared parts and the repo as every simulated machine sees them. */
export interface SimShared {
  clock: SimClock;
  git: GitDouble;
  /** Declarations at each commit id (the repo's history). */
  declsAt: Map<string, Declarations>;
  work: SimWork;
  /** The agent config every machine runs with (the real loader's output; the machine name is each agent's own). */
  agentConfig: AgentConfig;
  /** The URL of the bucket every view shares (the head pointer's store when the repo enables it). */
  storeUrl: string;
  /** How many machines have reported Ready on each `set@digest` (a cheap end condition for the rollout). */
  ready: Map<string, number>;
  /** When the rollout's commit landed (monotonic ms), once it has: ticks from then on draw from rolloutSamples. */
  rolloutFromMs?: number;
}

const silent: Logger = pino({ level: 'silent' });

/**
 * setPlanOf is pure, and every member of a set gets the same plan from the same declarations: computed once per
 * commit and set here, where the real agents each compute their own (their CPU, not the shared parts' load).
 */
const plans = new WeakMap<Declarations, Map<string, { members: Set<string>; plan: RolloutPlan }>>();

function planFor(decls: Declarations, set: SetDeclaration, machine: string): RolloutPlan {
  let bySet = plans.get(decls);
  if (bySet === undefined) plans.set(decls, (bySet = new Map<string, { members: Set<string>; plan: RolloutPlan }>()));
  let known = bySet.get(set.name);
  if (known === undefined) {
    const members = membersOf(decls, set);
    known = { members: new Set(members), plan: setPlanOf(decls, set, members[0] ?? machine) };
    bySet.set(set.name, known);
  }
  return known.members.has(machine) ? known.plan : setPlanOf(decls, set, machine);
}

function noRunner(): never {
  throw new Error('the scale simulation runs no commands');
}

/** Counts of what one agent did, for the benchmark's own cross-checks. */
export interface SimAgentCounts {
  polls: number;
  skipped: number;
  ticks: number;
}

/** A simulated agent; start() arms its poll timer and asks for the start-up tick. */
export class SimAgent {
  readonly counts: SimAgentCounts = { polls: 0, skipped: 0, ticks: 0 };
  /** When each set last reported Ready on its desired digest (monotonic ms), for rollout timings. */
  readonly readyAt = new Map<string, number>();
  private readonly sets = new Map<string, SimSetState>();
  private readonly reported = new Map<string, MachineStatus>();
  private readonly ports: TickPorts;
  private basis: PollBasis | undefined;
  private have: string | null = null;
  private readonly heads: HeadReader;
  private probedAtMs = -Infinity;
  /** When a poll last read the branch head (the supervisor's answerPoll input). */
  private headReadAtMs: number | undefined;
  /** The sets recovered in this daemon (carried across idle retirements), when its last tick ended and how. */
  private readonly recovered = new Set<string>();
  private lastTick: { endMs: number; exitCode: 0 | 1 | 3 } | undefined;
  private stopTrigger: (() => Promise<void>) | undefined;
  private cancelFollow: (() => void) | undefined;
  private seed: number;
  private readonly queue: SingleFlight;

  constructor(
    readonly name: string,
    private readonly config: SimAgentConfig,
    private readonly shared: SimShared,
    /** This machine's view of the bucket (its requests are counted for it). */
    private readonly store: SimStore,
    /** The digest each set runs when the simulation starts (a fleet already deployed). */
    initial: ReadonlyMap<string, string>,
  ) {
    for (const [set, digest] of initial) this.sets.set(set, { current: digest as SimSetState['current'] });
    this.seed = [...`${name}${config.seedSalt ?? ''}`].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0, 2166136261) || 1;
    this.ports = {
      log: silent, clock: shared.clock, runner: noRunner, observer: new LeaseObserver(), gate: new GateMemory(), signal: new AbortController().signal,
      staleAfterMs: DEFAULT_STALE_AFTER_MS, statusHeartbeatMs: config.statusHeartbeatMs, pollSpanMs: config.pollIntervalMs + config.jitterMs, holder: `${name}-1`, agentVersion: 'sim',
    };
    this.heads = new HeadReader({
      config: shared.agentConfig, log: silent, metrics: { countHeadRead: () => undefined }, now: () => shared.clock.nowMs(),
      readGitHead: () => shared.git.lsRefs(shared.agentConfig.repo.branch), openStore: () => store,
    });
    this.queue = createSingleFlight((reasons) => this.supervise(reasons), { now: () => shared.clock.nowMs() });
  }

  /** One of `samples` (xorshift on the machine's seed), or `fallback` when there are none. */
  private draw(samples: readonly number[] | undefined, fallback: number): number {
    if (samples === undefined || samples.length === 0) return fallback;
    this.seed ^= this.seed << 13;
    this.seed ^= this.seed >>> 17;
    this.seed ^= this.seed << 5;
    this.seed >>>= 0;
    return samples[this.seed % samples.length] ?? fallback;
  }

  /**
   * The index of one of `n` samples: among the NEAR_SAMPLES whose time since the commit (`atMs`) is nearest
   * `sinceCommitMs` when the times are known, else among all. Ties keep the samples' order.
   */
  private drawIndex(n: number, atMs: readonly number[] | undefined, sinceCommitMs: number): number {
    const all = Array.from({ length: n }, (_, k) => k);
    const near = atMs === undefined || atMs.length !== n ? all : all.sort((a, b) => Math.abs((atMs[a] ?? 0) - sinceCommitMs) - Math.abs((atMs[b] ?? 0) - sinceCommitMs)).slice(0, NEAR_SAMPLES);
    return this.draw(near, 0);
  }

  /** One of `samples` nearest `sinceCommitMs` by `atMs` (drawIndex), or `fallback` when there are none. */
  private drawNear(samples: readonly number[] | undefined, atMs: readonly number[] | undefined, sinceCommitMs: number, fallback: number): number {
    if (samples === undefined || samples.length === 0) return fallback;
    return samples[this.drawIndex(samples.length, atMs, sinceCommitMs)] ?? fallback;
  }

  /**
   * A rollout tick's times from the agents' rollout ticks begun near the same time since the commit: a
   * started worker's start and tick are one real tick's pair (a machine whose worker came up slowly, under the
   * commit's burst, also ticked slowly); a warm tick's time alone. Undefined where the agents showed no tick of
   * that kind (the idle draws then apply).
   */
  private rolloutTickTimes(s: NonNullable<SimAgentConfig['rolloutSamples']>, cold: boolean, sinceCommitMs: number): { workerStartMs?: number; tickMs: number } | undefined {
    if (!cold) return s.warmTickMs.length === 0 ? undefined : { tickMs: this.drawNear(s.warmTickMs, s.warmAtMs, sinceCommitMs, 0) };
    const n = Math.min(s.workerStartMs.length, s.coldTickMs.length);
    if (n === 0) return undefined;
    const i = this.drawIndex(n, s.coldAtMs?.length === n ? s.coldAtMs : undefined, sinceCommitMs);
    return { workerStartMs: s.workerStartMs[i] ?? 0, tickMs: s.coldTickMs[i] ?? 0 };
  }

  /** Runs `fn` with this machine's store requests taking `ms` each (one tick at a time: nothing else overlaps it). */
  private async withRoundTrip<T>(ms: number, fn: () => Promise<T>): Promise<T> {
    this.store.roundTripMs = ms;
    try {
      return await fn();
    } finally {
      this.store.roundTripMs = undefined;
    }
  }

  start(): void {
    const clock = this.shared.clock;
    this.stopTrigger = startIntervalTrigger({
      intervalMs: this.config.pollIntervalMs, machine: this.name, maxRandomDelayMs: this.config.jitterMs,
      request: (r) => this.queue.request(r), now: () => clock.nowMs(), after: (ms, fn) => clock.after(ms, fn),
    });
    void this.queue.request('start');
  }

  /**
   * Stops the poll timer. A tick in flight is left as it is: it waits on the simulated clock, which no longer
   * runs, so waiting for it (the queue's stop) would never end.
   */
  async stop(): Promise<void> {
    this.cancelFollow?.();
    await this.stopTrigger?.();
  }

  /** The supervisor's followLater: one timer, the latest request replacing the one before. */
  private followLater(ms: number): void {
    this.cancelFollow?.();
    this.cancelFollow = this.shared.clock.after(ms, () => void this.queue.request('follow'));
  }

  /**
   * The supervisor's tick function (supervisor.ts): during a git backoff a poll does nothing; a poll answered
   * cheaply (head pointer or ls-refs through the real HeadReader) skips; else a full tick, whose news goes to
   * the HeadReader, and a tick that is following the batch before asks for the next one at once.
   */
  private async supervise(reasons: readonly string[]): Promise<void> {
    const clock = this.shared.clock;
    const poll = reasons.length > 0 && reasons.every((r) => r === 'cron');
    if (poll) this.counts.polls++;
    if (poll && this.heads.backingOff()) {
      this.counts.skipped++;
      return;
    }
    const probe: PollProbe = {
      readStamp: () => Promise.resolve(''),
      readHead: async () => {
        const head = await this.heads.readHead();
        this.headReadAtMs = clock.nowMs();
        return head;
      },
    };
    const read = this.headReadAtMs !== undefined ? { headReadAtMs: this.headReadAtMs } : {};
    const answer = await answerPoll({ reasons, basis: this.basis, nowMs: clock.nowMs(), heartbeatMs: this.config.statusHeartbeatMs, ...read }, probe);
    if (!answer.tick) {
      this.counts.skipped++;
      return;
    }
    this.basis = undefined;
    const report = await this.tick(answer.why === 'heartbeat' ? answer.knownHead : undefined);
    await this.heads.afterTick({ commit: report.commit, ...(report.pointerOn ? { headPointerStore: this.shared.storeUrl } : {}) });
    this.basis = { sets: report.outcomes.map((o) => o.set), stamp: '', last: lastTickOf(report, clock.nowMs()) };
    if (report.outcomes.some((o) => o.followAgain === true)) void this.queue.request('follow');
    else {
      const waits = report.outcomes.flatMap((o) => (o.followAfterMs === undefined ? [] : [o.followAfterMs]));
      if (waits.length > 0) this.followLater(Math.min(...waits));
    }
  }

  /**
   * A full tick (tick.ts's runTick): sync, probe when the memo is old, each set, then the due reports. The sync
   * follows syncRepo's rule: a `knownHead` (a heartbeat poll's) the cache already holds is not asked of git.
   */
  private async tick(knownHead?: string): Promise<{ exitCode: 0 | 1 | 3; commit: string; outcomes: SetOutcome[]; pointerOn: boolean; heartbeatFrom?: string }> {
    const { clock, git } = this.shared;
    this.counts.ticks++;
    // A worker retires keepWarm after a tick that is not waiting (worker-policy.ts): the next tick starts a new
    // process, with a new lease observer and gate memory. The supervisor carries the statuses and, from a worker
    // it retired while idle (always, here: simulated workers never crash), the sets already recovered.
    const last = this.lastTick;
    const cold = last === undefined || (last.exitCode !== 3 && clock.monotonicMs() - last.endMs >= this.shared.agentConfig.keepWarmMs);
    if (cold) {
      this.ports.observer = new LeaseObserver();
      this.ports.gate = new GateMemory();
    }
    const from = this.shared.rolloutFromMs;
    const rolling = from !== undefined && clock.monotonicMs() >= from ? this.config.rolloutSamples : undefined;
    const sinceCommitMs = clock.monotonicMs() - (from ?? 0);
    const times = rolling === undefined ? undefined : this.rolloutTickTimes(rolling, cold, sinceCommitMs);
    // A switch's steps after the gate (fences, switch, commit, reports), as the agents took them: past the gate, where they pace the batch.
    const afterGateMs = rolling?.afterGateMs !== undefined && rolling.afterGateMs.length > 0 ? this.drawNear(rolling.afterGateMs, rolling.afterGateAtMs, sinceCommitMs, 0) : undefined;
    const decisionMs = rolling?.decisionRequestMs;
    const work: SimWork = {
      ...this.shared.work, ...(afterGateMs !== undefined ? { afterGateMs } : {}),
      ...(decisionMs !== undefined ? { decisions: <T>(decide: () => Promise<T>) => this.withRoundTrip(decisionMs, decide) } : {}),
    };
    if (cold) await clock.sleep(times?.workerStartMs ?? this.draw(this.config.samples?.workerStartMs, this.config.workerStartMs));
    await clock.sleep(times?.tickMs ?? this.draw(this.config.samples?.tickMs, this.config.tickMs));
    const synced = knownHead !== undefined && knownHead === this.have ? { head: knownHead } : await git.sync('main', this.have);
    this.have = synced.head;
    const decls = this.shared.declsAt.get(synced.head);
    if (decls === undefined) throw new Error(`the simulated repo has no declarations at ${synced.head}`);
    if (clock.monotonicMs() - this.probedAtMs >= PROBE_TTL_MS) {
      const p = await probeConditionalWrites(this.store);
      if (!p.ok) throw new Error(`the simulated bucket failed the precondition probe: ${p.reason ?? ''}`);
      this.probedAtMs = clock.monotonicMs();
    }
    const outcomes: SetOutcome[] = [];
    for (const set of decls.sets.values()) {
      const state = this.sets.get(set.name);
      if (state === undefined) continue; // not one of this machine's sets
      const ctx: SetContext = {
        machine: { name: this.name, labels: {}, platform: 'linux/amd64' }, stateDir: '/nonexistent/simulated', set, decls, commit: synced.head, signer: 'release',
        stores: [this.store], coordination: this.store, coordinationSafe: true,
        // The simulated sets pin Flotilla closures; no Nix cache is ever opened.
        nix: { caches: [], open: (url) => Promise.reject(new Error(`no Nix cache in the simulation: ${url}`)), root: '/', register: 'never' },
        distrustCoordination: () => {
          this.probedAtMs = -Infinity;
          return Promise.resolve();
        },
        policy: { trusted: [] }, ports: this.ports, timings: [], fetched: { bytes: 0 }, staged: new StagedMemo(),
      };
      if (!this.recovered.has(set.name)) {
        // recoverSet's first look in a new worker (nothing pending): release a slot a crashed process of this machine left held.
        this.recovered.add(set.name);
        const slot = await recoverSlot(ctx, set.closure, { ownOnly: true });
        if (slot !== 'no-slot' && slot.lease !== null) await slot.lease.release();
      }
      outcomes.push(await convergeSimSet(ctx, planFor(decls, set, this.name), state, work, clock));
    }
    const heartbeatFrom = await this.writeStatuses(outcomes, synced.head);
    this.lastTick = { endMs: clock.monotonicMs(), exitCode: exitCodeOf(outcomes, false) };
    return { exitCode: exitCodeOf(outcomes, false), commit: synced.head, outcomes, pointerOn: decls.config.headPointer.enabled, ...(heartbeatFrom !== undefined ? { heartbeatFrom } : {}) };
  }

  /**
   * tick.ts's writeStatuses, store part: each report that is due (a change, or the heartbeat). Returns the
   * oldest report's time (TickReport.heartbeatFrom), which the next heartbeat counts from.
   */
  private async writeStatuses(outcomes: SetOutcome[], commit: string): Promise<string | undefined> {
    const at = this.shared.clock.now();
    let oldest: string | undefined;
    for (const o of outcomes) {
      const previous = this.reported.get(o.set);
      const s = toMachineStatus(o, { machine: this.name, commit, at, agentVersion: 'sim', heartbeatMs: this.config.statusHeartbeatMs, ...(previous !== undefined ? { previous } : {}) });
      const due = reportDue(previous, s, this.config.statusHeartbeatMs);
      if (due) {
        await writeMachineStatus(this.store, s);
        await markReadyAfterReport(this.store, previous, s);
        this.reported.set(o.set, s);
      }
      const written = due ? s : previous;
      if (written !== undefined && (oldest === undefined || Date.parse(written.reportedAt) < Date.parse(oldest))) oldest = written.reportedAt;
      const key = `${o.set}@${o.desired ?? ''}`;
      if (due && s.state === 'Ready' && s.currentDigest === s.desiredDigest && !this.readyAt.has(key)) {
        this.readyAt.set(key, this.shared.clock.monotonicMs());
        this.shared.ready.set(key, (this.shared.ready.get(key) ?? 0) + 1);
      }
    }
    return oldest;
  }
}
