import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { runCommand } from '../activation/run-command.js';
import type { AgentConfig } from '../declarations/types.js';
import { fromStateDirError } from '../errors/system-error.js';
import type { CrashPoints } from '../generations/crash-points.js';
import { readState, setPaths } from '../generations/index.js';
import type { TickPorts } from '../reconcile/context.js';
import { StagedMemo } from '../reconcile/staged-memo.js';
import { StoreCache } from '../reconcile/stores.js';
import { runTick, type AgentMemory, type TickReport } from '../reconcile/tick.js';
import { systemClock, type Clock } from '../rollout/clock.js';
import { GateMemory } from '../rollout/gate-memory.js';
import { LeaseObserver } from '../rollout/lease-observer.js';
import { DEFAULT_STALE_AFTER_MS } from '../status/readiness.js';
import { loadCommitTrust, type CommitTrust } from '../trust/commit-trust.js';
import type { MachineStatus } from '../status/machine-status.js';
import { FLOTILLA_VERSION } from '../util/version.js';
import type { BadDigestsBySet } from './tick-metrics.js';
import { lockStateDir } from './state-dir-lock.js';
import { createNotifier } from './notifier.js';

/**
 * A configured agent: run one tick, close its stores. It keeps no metrics: the daemon's supervisor records
 * them from each tick's report (and the bad digests below), in the process that serves /metrics.
 */
export interface Agent {
  readonly config: AgentConfig;
  /** `knownHead`: the branch head the daemon's poll just read (a heartbeat tick); the sync trusts it when cached. */
  tick(options?: { knownHead?: string }): Promise<TickReport>;
  /** Digests marked bad per set of the last tick's outcomes, read from state.json ({} before a tick). */
  badDigests(): BadDigestsBySet;
  /** The memory a successor process needs so its reports continue this one's (see AgentCarry). */
  carry(): AgentCarry;
  /** Waits until the notifications raised so far had their delivery attempt (`agent --once` before exiting). */
  settleNotifications(): Promise<void>;
  close(): Promise<void>;
}

/**
 * What one agent process hands to the next of the same daemon (the supervisor's tick workers): the status
 * last written per set and the one last reported to the store, so condition transition times (the rollout
 * gate times its pauses from Ready's) and the report heartbeat carry on across worker restarts. Plain JSON.
 */
export interface AgentCarry {
  lastStatus: MachineStatus[];
  reported: MachineStatus[];
  /**
   * Sets whose startup recovery already ran in the daemon. Handed on only from a worker the supervisor
   * retired while idle (WorkerLifecycle): then no tick of this machine was cut short, nothing is pending and
   * no slot was left held by a killed process, so the next worker need not look (a store read per set). After
   * a crash it is dropped and recovery runs again.
   */
  recovered?: string[];
}

/** Options of createAgent: the ports the real process supplies (tests may give a clock or crash points). */
export interface CreateAgentOptions {
  config: AgentConfig;
  log: Logger;
  /** Aborts syncs and fetches (SIGTERM); switches and health checks always run to the end. */
  signal: AbortSignal;
  clock?: Clock;
  crash?: CrashPoints;
  /** Memory left by the previous process of the same daemon (AgentCarry); absent on a fresh start. */
  carry?: AgentCarry;
  /** The pid recorded as the state dir's agent (lockStateDir): the daemon's supervisor for a tick worker; default this process. */
  lockOwner?: number;
}

/** Reads the digests marked bad for each set in state.json; a set whose state cannot be read is left out. */
async function readBadDigests(stateDir: string, sets: readonly string[]): Promise<BadDigestsBySet> {
  const out: BadDigestsBySet = {};
  for (const set of sets) {
    const state = await readState(setPaths(stateDir, set).stateFile).catch(() => undefined);
    if (state) out[set] = Object.keys(state.bad);
  }
  return out;
}

/**
 * Builds an agent from its config: loads the pinned commit trust (KeyError when a key file is missing or
 * empty: verification is never silently off), creates the state dir (StateError when it cannot be written),
 * takes its agent lock (LockedError naming the other agent's pid; released by close()), and binds the real ports.
 */
export async function createAgent(options: CreateAgentOptions): Promise<Agent> {
  const { config, log } = options;
  const trust: CommitTrust = await loadCommitTrust({
    ...(config.trust.allowedSignersFile ? { allowedSignersFile: config.trust.allowedSignersFile } : {}),
    pgpKeyFiles: config.trust.pgpKeysFiles,
    verify: config.trust.verify,
    insecureSkipVerify: config.trust.insecureSkipVerify,
    ...(config.trust.mergeAllowedSignersFile ? { mergeAllowedSignersFile: config.trust.mergeAllowedSignersFile } : {}),
    ...(config.trust.mergePgpKeysFiles ? { mergePgpKeyFiles: config.trust.mergePgpKeysFiles } : {}),
  });
  // Found now, naming the dir, rather than as the first of many failed writes deep in a tick.
  await mkdir(config.stateDir, { recursive: true, mode: 0o755 })
    .then(() => access(config.stateDir, constants.W_OK))
    .catch((err: unknown) => {
      throw fromStateDirError(err, config.stateDir);
    });
  const unlock = await lockStateDir(config.stateDir, options.lockOwner);
  const ports: TickPorts = {
    log,
    clock: options.clock ?? systemClock,
    runner: runCommand,
    observer: new LeaseObserver(),
    gate: new GateMemory(),
    signal: options.signal,
    ...(options.crash ? { crash: options.crash } : {}),
    staleAfterMs: DEFAULT_STALE_AFTER_MS,
    statusHeartbeatMs: config.statusHeartbeatMs,
    pollSpanMs: config.repo.pollIntervalMs + config.repo.jitterMs,
    holder: `${config.machine}-${process.pid}-${randomBytes(4).toString('hex')}`,
    agentVersion: FLOTILLA_VERSION,
  };
  const stores = new StoreCache(log, config.storeCredentials);
  const carried = options.carry;
  const memory: AgentMemory = {
    recovered: new Set(carried?.recovered ?? []),
    lastStatus: new Map((carried?.lastStatus ?? []).map((s) => [s.set, s])),
    reported: new Map((carried?.reported ?? []).map((s) => [s.set, s])),
    staged: new StagedMemo(),
  };
  let bad: BadDigestsBySet = {};
  const notifier = createNotifier({ config, log, runner: runCommand });
  // Left from an earlier process (a retry due, a crash before delivery).
  notifier.kick();
  return {
    config,
    async tick(options = {}) {
      const report = await runTick({ config, trust, ports, stores, memory, ...(options.knownHead !== undefined ? { knownHead: options.knownHead } : {}) });
      // Delivery runs beside the agent, never inside the tick: a dead receiver holds nothing back.
      notifier.kick();
      bad = await readBadDigests(config.stateDir, report.outcomes.map((o) => o.set));
      log.info({ commit: report.commit, exitCode: report.exitCode, storeRequests: report.storeRequests, sets: report.outcomes.map((o) => ({ set: o.set, result: o.result, reason: o.reason })) }, 'tick finished');
      return report;
    },
    badDigests: () => bad,
    settleNotifications: () => notifier.settle(),
    carry: () => ({ lastStatus: [...memory.lastStatus.values()], reported: [...memory.reported.values()], recovered: [...memory.recovered] }),
    // The round in flight ends within its deadlines; what is left is delivered by the next process.
    close: () => notifier.close().finally(() => stores.close().finally(unlock)),
  };
}
