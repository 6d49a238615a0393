import { readdir } from 'node:fs/promises';
import type { AgentConfig, Declarations, MachineIdentity } from '../declarations/types.js';
import { servicePathConflicts, setsForMachine } from '../declarations/select-sets.js';
import { findGeneration, localStatusFile, readCurrent, readState, setPaths, setsDir } from '../generations/index.js';
import { flushOutbox, type FlushResult } from '../history/flush-outbox.js';
import { outboxNotes } from '../history/history-notes.js';
import { ensureMachineKey, type MachineKey } from '../history/machine-key.js';
import { markReadyAfterReport } from '../rollout/ready-marker.js';
import type { MachineStatus } from '../status/machine-status.js';
import { writeMachineStatus } from '../status/status-io.js';
import { Reason } from '../status/conditions.js';
import { reportDue } from '../status/report-due.js';
import type { CommitTrust } from '../trust/commit-trust.js';
import type { PublisherPolicy } from '../trust/manifest-policy.js';
import { parsePublicKey } from '../trust/publisher-key.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { Store } from '../store/store.js';
import type { SetContext, TickPorts } from './context.js';
import { convergeSet } from './converge-set.js';
import { reasonForError } from './error-reason.js';
import { raiseOutcomeEvents } from './raise-events.js';
import { recoverSet } from './recover-set.js';
import type { StagedMemo } from './staged-memo.js';
import { readRepoSnapshot, type RepoSnapshot } from './repo-snapshot.js';
import { orderByDependencies } from './set-order.js';
import { exitCodeOf, toMachineStatus, type SetOutcome } from './set-outcome.js';
import type { StepTiming } from './step.js';
import { headPointerStoreUrl, type StoreCache } from './stores.js';

/** What survives from one tick to the next within one agent process. */
export interface AgentMemory {
  /** The last snapshot whose declarations were valid: kept when a new commit is invalid. */
  lastGood?: RepoSnapshot;
  /** Sets whose startup recovery already ran in this process, or in the daemon's worker before it if that one was retired idle (AgentCarry). */
  recovered: Set<string>;
  /** The statuses last written to status.json, per set: condition transition times carry over from them. */
  lastStatus: Map<string, MachineStatus>;
  /** The status last written to the coordination store, per set (a report is rewritten only when due). */
  reported: Map<string, MachineStatus>;
  /** Verified, staged closures per set, reused by waiting ticks. */
  staged: StagedMemo;
}

/** One tick's report: what each set did, the repo-level error if any, and the `--once` exit code. */
export interface TickReport {
  commit: string | null;
  outcomes: SetOutcome[];
  error?: { code: string; message: string };
  exitCode: 0 | 1 | 3;
  timings: StepTiming[];
  /** Store requests (all stores, every kind) made during this tick. */
  storeRequests: number;
  /** Bytes downloaded from the stores during this tick (0 when nothing was missing locally). */
  bytesFetched: number;
  startedAt: string;
  finishedAt: string;
  /** Some set waits on a batch working right now: tick again at once rather than at the next poll. */
  followAgain?: true;
  /** Some set waits on a batch that cannot be done sooner: tick again after this many ms (the shortest such wait). */
  followAfterMs?: number;
  /** The signed `expires` of the declarations the tick read (ISO), when they have one: past it, polls must tick. */
  repoExpiresAt?: string;
  /** The store to poll the head pointer in, when the declarations the tick read enable it (stores.ts). */
  headPointerStore?: string;
  /**
   * The oldest store report's time (or of a write this tick tried and failed), ISO: the next heartbeat falls
   * due a statusHeartbeat after it, even when ticks came since (a commit that changed nothing for this
   * machine writes no report). Absent when the tick had no store to report to.
   */
  heartbeatFrom?: string;
}

/** Everything runTick needs: the agent's config and pinned trust, its ports, stores and memory. */
export interface TickInput {
  config: AgentConfig;
  trust: CommitTrust;
  ports: TickPorts;
  stores: StoreCache;
  memory: AgentMemory;
  /** The branch head the daemon's poll read for a heartbeat tick (readRepoSnapshot's knownHead). */
  knownHead?: string;
}

function publisherPolicy(decls: Declarations): PublisherPolicy {
  const p = decls.config.publishers;
  return {
    trusted: p.keys.map(parsePublicKey),
    threshold: p.threshold,
    requireDeployable: p.requireDeployable,
    ...(p.promoterKeys.length > 0 ? { promoters: p.promoterKeys.map(parsePublicKey) } : {}),
  };
}

function machineOf(config: AgentConfig): MachineIdentity {
  return { name: config.machine, labels: config.labels, platform: config.platform };
}

async function currentOf(stateDir: string, set: string): Promise<{ digest: SetOutcome['current']; number: number | null }> {
  const paths = setPaths(stateDir, set);
  const cur = await readCurrent(paths.current).catch(() => undefined);
  if (!cur) return { digest: null, number: null };
  const g = await findGeneration(paths, cur.number).catch(() => undefined);
  return { digest: g?.digest ?? null, number: cur.number };
}

/** The sets this machine has state for on disk (a fresh process knows no snapshot yet). */
async function setsOnDisk(stateDir: string): Promise<string[]> {
  const names = await readdir(setsDir(stateDir)).catch(() => [] as string[]);
  return names.filter((n) => !n.startsWith('.'));
}

/**
 * Outcomes for a tick that could not read a trustworthy repo: every set known (from the last good snapshot
 * or the state dir) reports why, with what it really runs; nothing changes.
 */
async function repoFailure(input: TickInput, err: unknown): Promise<SetOutcome[]> {
  const r = reasonForError(err);
  const known = new Map<string, SetOutcome['desired']>();
  if (input.memory.lastGood) for (const s of setsForMachine(input.memory.lastGood.decls, machineOf(input.config))) known.set(s.name, s.closure);
  for (const name of await setsOnDisk(input.config.stateDir)) {
    if (known.has(name)) continue;
    const state = await readState(setPaths(input.config.stateDir, name).stateFile).catch(() => undefined);
    known.set(name, state?.lastDesired ?? null);
  }
  const result = r.reason === Reason.RepoStale ? ('waiting' as const) : ('failed' as const);
  return Promise.all(
    [...known].sort(([a], [b]) => a.localeCompare(b)).map(async ([set, desired]) => {
      const cur = await currentOf(input.config.stateDir, set);
      return { set, desired, current: cur.digest, generation: cur.number, result, reason: r.reason, message: r.message, stalled: r.stalled, rollout: input.memory.lastStatus.get(set)?.rollout ?? null };
    }),
  );
}

/**
 * One reconcile tick (DESIGN §1): sync and verify the repo, load declarations, then for each set of this
 * machine (dependencies first) recover once, fetch, stage, pass the gate, switch, activate, check health,
 * and keep or roll back. Status is written once, at the end, locally and to the coordination store.
 * Never throws for a failure it can describe: the report carries it.
 */
export async function runTick(input: TickInput): Promise<TickReport> {
  const { config, ports, memory } = input;
  const startedAt = ports.clock.now().toISOString();
  const requestsBefore = input.stores.counter.requests;
  const timings: StepTiming[] = [];
  const fetched = { bytes: 0 };
  let snapshot: RepoSnapshot;
  let outcomes: SetOutcome[] = [];
  let error: TickReport['error'];
  let stores: Awaited<ReturnType<StoreCache['forTick']>> | undefined;
  const historyKey = await machineKeyOf(input);
  const history = outboxNotes(config.stateDir, ports.log);
  try {
    snapshot = await readRepoSnapshot({ config, trust: input.trust, log: ports.log, timings, now: ports.clock.now(), signal: ports.signal, ...(memory.lastGood ? { previous: memory.lastGood } : {}), ...(input.knownHead !== undefined ? { knownHead: input.knownHead } : {}) });
    memory.lastGood = snapshot;
    stores = await input.stores.forTick(config, snapshot.decls);
    const machine = machineOf(config);
    const sets = orderByDependencies(setsForMachine(snapshot.decls, machine));
    const conflicts = new Set(servicePathConflicts(sets).flatMap((c) => c.sets));
    const policy = publisherPolicy(snapshot.decls);
    for (const set of sets) {
      const ctx: SetContext = {
        machine, stateDir: config.stateDir, set, decls: snapshot.decls, commit: snapshot.commit, signer: snapshot.signer, ...(snapshot.trialSets?.has(set.name) === true ? { trial: true } : {}),
        stores: stores.content, nix: { caches: stores.nixCaches, open: (url) => input.stores.openNix(url), root: config.nix.root, register: config.nix.register }, coordination: stores.coordination, coordinationSafe: stores.coordinationSafe, distrustCoordination: stores.distrustCoordination, policy, ports, timings, fetched, staged: memory.staged, history,
      };
      if (conflicts.has(set.name)) {
        const cur = await currentOf(config.stateDir, set.name);
        outcomes.push({ set: set.name, desired: set.closure, current: cur.digest, generation: cur.number, result: 'failed', reason: Reason.InvalidDeclarations, message: `set ${set.name} claims the same servicePath as another set of this machine`, stalled: true, rollout: null });
        continue;
      }
      let recovered: SetOutcome | null = null;
      if (!memory.recovered.has(set.name)) {
        recovered = await recoverSet(ctx);
        memory.recovered.add(set.name);
      }
      // A failure found while finishing a crashed switch is this tick's report, as in a normal tick.
      const outcome = recovered ?? (await convergeSet(ctx));
      outcomes.push(outcome);
      await raiseOutcomeEvents(ctx, outcome);
    }
  } catch (err) {
    const r = reasonForError(err);
    error = { code: (err as { code?: string }).code ?? 'InternalError', message: r.message };
    ports.log.error({ code: error.code, err: r.message }, 'tick failed before converging');
    outcomes = await repoFailure(input, err);
    // Report the refusal where the fleet can see it: through the stores of the last trusted declarations.
    if (stores === undefined && memory.lastGood) stores = await input.stores.forTick(config, memory.lastGood.decls).catch(() => undefined);
  }
  const commit = memory.lastGood?.commit ?? null;
  // The log never holds up the rollout: what cannot be appended now waits in the outbox for a later tick.
  const flushed = historyKey !== null && stores?.coordination && stores.coordinationSafe
    ? await flushOutbox({ stateDir: config.stateDir, machine: config.machine, store: stores.coordination, key: historyKey, log: ports.log })
    : undefined;
  const heartbeatFrom = await writeStatuses(input, outcomes, commit, stores?.coordination ?? null, { key: historyKey, heads: flushed?.heads ?? {} });
  const exitCode = error && error.code === 'StaleRepoError' ? 3 : exitCodeOf(outcomes, error !== undefined);
  const expires = memory.lastGood?.decls.config.expires;
  const pointerStore = memory.lastGood ? headPointerStoreUrl(config, memory.lastGood.decls) : undefined;
  return {
    commit, outcomes, ...(error ? { error } : {}), exitCode, timings, storeRequests: input.stores.counter.requests - requestsBefore, bytesFetched: fetched.bytes,
    ...(outcomes.some((o) => o.followAgain === true) ? { followAgain: true as const } : {}),
    ...followAfterOf(outcomes),
    startedAt, finishedAt: ports.clock.now().toISOString(), ...(expires ? { repoExpiresAt: expires.toISOString() } : {}),
    ...(pointerStore !== undefined ? { headPointerStore: pointerStore } : {}),
    ...(heartbeatFrom !== undefined ? { heartbeatFrom } : {}),
  };
}

/** The shortest `followAfterMs` of the outcomes, as a report field (none when no set asks for one). */
function followAfterOf(outcomes: readonly SetOutcome[]): { followAfterMs?: number } {
  const waits = outcomes.flatMap((o) => (o.followAfterMs === undefined ? [] : [o.followAfterMs]));
  return waits.length === 0 ? {} : { followAfterMs: Math.min(...waits) };
}

/** The machine's deployment-log key, made on the first tick; null (logged) when the state dir cannot hold it. */
async function machineKeyOf(input: TickInput): Promise<MachineKey | null> {
  try {
    return await ensureMachineKey(input.config.stateDir, input.config.machine);
  } catch (err) {
    input.ports.log.warn({ err: (err as Error).message }, 'no deployment-log key: switches are not logged');
    return null;
  }
}

/**
 * Writes the tick's statuses, locally (status.json) and to the coordination store, but only what is due
 * (reportDue): a change, or the heartbeat. Returns heartbeatFrom (TickReport): the time of the oldest report
 * this machine has in the store, so a failed write (its report stays old) is retried by the next poll.
 */
const NEVER = new Date(0).toISOString();

async function writeStatuses(input: TickInput, outcomes: SetOutcome[], commit: string | null, coordination: Store | null, history: { key: MachineKey | null; heads: FlushResult['heads'] }): Promise<string | undefined> {
  const { config, ports, memory } = input;
  const at = ports.clock.now();
  const statuses = outcomes.map((o) => {
    const previous = memory.lastStatus.get(o.set);
    return toMachineStatus(o, { machine: config.machine, commit, at, agentVersion: ports.agentVersion, heartbeatMs: ports.statusHeartbeatMs, ...(previous !== undefined ? { previous } : {}), ...(history.key !== null ? { historyKey: history.key.publicKey } : {}), ...(history.heads[o.set] !== undefined ? { historyHead: history.heads[o.set] } : {}) });
  });
  let oldest: string | undefined;
  const beat = (time: string): void => {
    if (oldest === undefined || Date.parse(time) < Date.parse(oldest)) oldest = time;
  };
  // The store first: the next batch of the fleet waits for exactly this report.
  if (coordination !== null) {
    for (const s of statuses) {
      const last = memory.reported.get(s.set);
      if (!reportDue(last, s, ports.statusHeartbeatMs)) {
        if (last !== undefined) beat(last.reportedAt);
        continue;
      }
      try {
        await writeMachineStatus(coordination, s);
        // After the report it follows; a failed marker write leaves the report unremembered, so both are retried.
        await markReadyAfterReport(coordination, memory.reported.get(s.set), s);
        memory.reported.set(s.set, s);
        beat(s.reportedAt);
      } catch (err) {
        ports.log.warn({ set: s.set, store: coordination.url, err: (err as Error).message }, 'could not write status to the store');
        // Due again at once: the next poll ticks and retries (the fleet may be waiting for this very report).
        beat(last?.reportedAt ?? NEVER);
      }
    }
  }
  // status.json also follows the commit: it is this machine's own view (`agent status`), and costs no request.
  const sameSets = statuses.length === memory.lastStatus.size && statuses.every((s) => memory.lastStatus.get(s.set)?.commit === s.commit);
  if (!sameSets || statuses.some((s) => reportDue(memory.lastStatus.get(s.set), s, ports.statusHeartbeatMs))) {
    await writeFileAtomic(localStatusFile(config.stateDir), `${JSON.stringify({ machine: config.machine, commit, at: at.toISOString(), sets: statuses }, null, 2)}\n`);
    memory.lastStatus = new Map(statuses.map((s) => [s.set, s]));
  }
  return oldest;
}
