import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { runCommand } from '../activation/run-command.js';
import type { AgentConfig } from '../declarations/types.js';
import type { CrashPoints } from '../generations/crash-points.js';
import { readState, setPaths } from '../generations/index.js';
import type { TickPorts } from '../reconcile/context.js';
import { StagedMemo } from '../reconcile/staged-memo.js';
import { StoreCache } from '../reconcile/stores.js';
import { runTick, type AgentMemory, type TickReport } from '../reconcile/tick.js';
import { systemClock, type Clock } from '../rollout/clock.js';
import { LeaseObserver } from '../rollout/lease-observer.js';
import { DEFAULT_STALE_AFTER_MS } from '../status/readiness.js';
import { STATUS_HEARTBEAT_MS } from '../status/report-due.js';
import { loadCommitTrust, type CommitTrust } from '../trust/commit-trust.js';
import { FLOTILLA_VERSION } from '../util/version.js';
import { createAgentMetrics, type AgentMetrics, type TickResult } from './agent-metrics.js';

/** A configured agent: run one tick, read its metrics, close its stores. */
export interface Agent {
  readonly config: AgentConfig;
  readonly metrics: AgentMetrics;
  tick(): Promise<TickReport>;
  close(): Promise<void>;
}

/** Options of createAgent: the ports the real process supplies (tests may give a clock or crash points). */
export interface CreateAgentOptions {
  config: AgentConfig;
  log: Logger;
  /** Aborts syncs and fetches (SIGTERM); switches and health checks always run to the end. */
  signal: AbortSignal;
  clock?: Clock;
  crash?: CrashPoints;
}

function metricResult(report: TickReport): TickResult {
  if (report.outcomes.some((o) => o.result === 'rolled-back')) return 'rolled_back';
  if (report.exitCode === 1) return 'failed';
  if (report.exitCode === 3) return 'waiting';
  return report.outcomes.some((o) => o.result === 'converged') ? 'converged' : 'noop';
}

async function updateMetrics(metrics: AgentMetrics, config: AgentConfig, report: TickReport): Promise<void> {
  metrics.recordTick({ startedAtMs: Date.parse(report.startedAt), finishedAtMs: Date.parse(report.finishedAt), result: metricResult(report) });
  for (const t of report.timings) metrics.observeStep(t.step, t.ms / 1000);
  if (report.bytesFetched > 0) metrics.addFetchedBytes(report.bytesFetched);
  for (const o of report.outcomes) {
    if (o.generation !== null && o.current !== null) metrics.setCurrentGeneration(o.set, o.generation, o.current);
  }
  for (const o of report.outcomes) {
    const state = await readState(setPaths(config.stateDir, o.set).stateFile).catch(() => undefined);
    if (state) metrics.setBadDigests(o.set, Object.keys(state.bad));
  }
}

/**
 * Builds an agent from its config: loads the pinned commit trust (KeyError when a key file is missing or
 * empty: verification is never silently off), creates the state dir, and binds the real ports.
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
  await mkdir(config.stateDir, { recursive: true, mode: 0o755 });
  const ports: TickPorts = {
    log,
    clock: options.clock ?? systemClock,
    runner: runCommand,
    observer: new LeaseObserver(),
    signal: options.signal,
    ...(options.crash ? { crash: options.crash } : {}),
    staleAfterMs: DEFAULT_STALE_AFTER_MS,
    statusHeartbeatMs: STATUS_HEARTBEAT_MS,
    holder: `${config.machine}-${process.pid}-${randomBytes(4).toString('hex')}`,
    agentVersion: FLOTILLA_VERSION,
  };
  const stores = new StoreCache(log, config.storeCredentials);
  const memory: AgentMemory = { recovered: new Set(), lastStatus: new Map(), reported: new Map(), staged: new StagedMemo() };
  const metrics = createAgentMetrics();
  return {
    config,
    metrics,
    async tick() {
      const report = await runTick({ config, trust, ports, stores, memory });
      await updateMetrics(metrics, config, report);
      log.info({ commit: report.commit, exitCode: report.exitCode, storeRequests: report.storeRequests, sets: report.outcomes.map((o) => ({ set: o.set, result: o.result, reason: o.reason })) }, 'tick finished');
      return report;
    },
    close: () => stores.close(),
  };
}
