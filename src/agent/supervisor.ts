// `flotilla agent` in daemon mode: a small supervisor process (triggers, the single-flight queue, metrics,
// the logger) and a tick worker child process that holds the heavy reconcile code only while ticks come.
// The supervisor never loads isomorphic-git, yaml, ajv, the AWS SDK, openpgp or src/reconcile (a test walks
// its import graph): an idle agent is this process alone.
import type { Logger } from 'pino';
import type { AgentConfig } from '../declarations/types.js';
import { createLogger } from '../util/logger.js';
import { createAgentMetrics } from './agent-metrics.js';
import { readBranchHead } from './head-check.js';
import { HeadReader } from './head-reader.js';
import { readStateStamp } from './state-stamp.js';
import { createSingleFlight, type TriggerReason } from './single-flight.js';
import { recordTickMetrics } from './tick-metrics.js';
import { startTriggers } from './triggers.js';
import { answerPoll, type PollBasis, type PollProbe } from './cheap-poll.js';
import { startWorker } from './worker-client.js';
import { startFirstWorker, WorkerLifecycle, type StartWorker } from './worker-lifecycle.js';
import { lastTickOf, retireAfterMs } from './worker-policy.js';
import { releaseStateDirLock } from './state-dir-lock.js';
import { controlSocketFile } from '../generations/layout.js';
import type { TickSummary } from './control-protocol.js';
import { createControlService, type SupervisedTick } from './control-service.js';
import { startControlSocket, type ControlSocket } from './control-socket.js';
import { summarizeTick } from './tick-summary.js';
import { notificationsDue } from './outbox-due.js';

export type { SupervisedTick } from './control-service.js';

/** Options of runSupervisor. */
export interface SupervisorOptions {
  /** The config file, resolved; `shownFile` is the path as the user wrote it (for error data). */
  configPath: string;
  shownFile: string;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGTERM/SIGINT: stop triggers, stop the worker (it finishes its step), resolve 0. */
  signal: AbortSignal;
  /** Where the worker entry module is (tests); default next to worker-client.js. */
  workerEntry?: string;
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  return new Promise((done) => (signal.aborted ? done() : signal.addEventListener('abort', () => done(), { once: true })));
}

/**
 * Runs the daemon until `signal` aborts, then resolves 0. The first worker loads and validates the config:
 * its error (ConfigError, KeyError, …) is thrown here unchanged, as `flotilla agent` always reported it.
 * Trigger start-up errors (bad schedule, secret file, listen address) are thrown after the worker stops.
 */
export async function runSupervisor(o: SupervisorOptions): Promise<0> {
  const workerOptions = { env: o.env, ...(o.workerEntry ? { entry: o.workerEntry } : {}) };
  const start: StartWorker = (init) => startWorker(init, workerOptions);
  const first = await startFirstWorker(start, { type: 'init', configPath: o.configPath, shownFile: o.shownFile }, o.signal);
  if (first === undefined) return 0;
  const config: AgentConfig = first.config;
  const log: Logger = createLogger({ level: o.env['FLOTILLA_LOG_LEVEL'] ?? config.logLevel, name: config.machine });
  const metrics = createAgentMetrics();
  // A condition the daemon cannot run past (version skew): stop as on SIGTERM, then fail with it.
  const self = new AbortController();
  let fatalError: Error | undefined;
  const workers = new WorkerLifecycle(first, {
    config, log, start,
    busy: () => queue.state().running,
    onFatal: (err) => {
      fatalError ??= err;
      self.abort();
    },
  });
  const heads = new HeadReader({ config, log, metrics, env: o.env, readGitHead: () => readBranchHead(config.repo) });
  // The cheap poll compares one branch head; an agent that also follows testing/<machine> ticks on every poll.
  let headReadAtMs: number | undefined;
  const readHead = config.repo.testingBranch === true ? () => Promise.resolve(null) : async () => {
    const head = await heads.readHead();
    headReadAtMs = Date.now();
    return head;
  };
  const probe: PollProbe = { readStamp: (sets) => readStateStamp(config.stateDir, sets), readHead };
  let basis: PollBasis | undefined;
  let pinned = false;
  let warnedPinned = false;
  let lastTick: TickSummary | null = null;
  let lastSkippedPoll: string | null = null;

  const tick = async (reasons: readonly TriggerReason[]): Promise<SupervisedTick> => {
    // Git failed lately: a poll neither asks it nor ticks (the tick would ask it too) until the backoff ends.
    if (reasons.length > 0 && reasons.every((r) => r === 'cron') && heads.backingOff()) {
      log.debug({ trigger: 'cron', retryAt: new Date(heads.snapshot().gitRetryAtMs).toISOString() }, 'poll: git is backing off after failures, poll skipped');
      metrics.countSkippedPoll();
      return { skipped: true, commit: basis?.last.commit ?? null };
    }
    // A notification retry falls due: a full tick brings up the worker that delivers it.
    const due = basis !== undefined && (await notificationsDue(config.stateDir, Date.now()));
    const answer = due ? ({ tick: true, why: 'not-cheap' } as const) : await answerPoll({ reasons, basis, nowMs: Date.now(), heartbeatMs: config.statusHeartbeatMs, ...(headReadAtMs !== undefined ? { headReadAtMs } : {}) }, probe);
    if (!answer.tick) {
      log.debug({ trigger: 'cron', commit: answer.commit }, 'poll: branch head unchanged, tick skipped');
      metrics.countSkippedPoll();
      lastSkippedPoll = new Date().toISOString();
      return { skipped: true, commit: answer.commit };
    }
    if (answer.why === 'state-changed') log.debug({ trigger: 'cron' }, 'poll: local state changed since the last tick, running a full tick');
    if (answer.why === 'head-check-failed') log.debug({ err: answer.error }, 'poll: head check failed, running a full tick');
    if (answer.why === 'heartbeat') log.debug({ trigger: 'cron', commit: answer.knownHead }, 'poll: heartbeat due, ticking on the known commit without asking git or the head pointer');
    // Where every full tick begins, started worker or warm (bench/scale-real.ts times the rollout's ticks from it).
    log.debug({ trigger: reasons.join(','), why: answer.why }, 'tick starting');
    // A skipped poll is not a tick: only a full one restarts the keepWarm countdown. Once the daemon is
    // stopping, acquire rejects: no worker starts after the stop.
    workers.holdRetire();
    const w = await workers.acquire();
    try {
      // Until this tick reports, nothing is known to be settled: a tick that crashes leaves the next poll
      // to run a full tick, whatever the head says.
      basis = undefined;
      const reply = await w.tick(answer.why === 'heartbeat' ? { knownHead: answer.knownHead } : {});
      recordTickMetrics(metrics, reply.report, reply.badDigests);
      const r = reply.report;
      await heads.afterTick({ commit: r.commit, ...(r.error ? { errorCode: r.error.code } : {}), ...(r.headPointerStore !== undefined ? { headPointerStore: r.headPointerStore } : {}) });
      workers.remember(reply.carry);
      const sets = reply.report.outcomes.map((x) => x.set);
      basis = { sets, stamp: await readStateStamp(config.stateDir, sets), last: lastTickOf(reply.report, Date.now()) };
      pinned = reply.pinned;
      // The batch before this machine's is working: keep following it in the next tick, not a poll later.
      if (reply.report.followAgain === true) void queue.request('follow');
      // The batch it waits for cannot be done before then: tick at that moment, not a poll later.
      else if (reply.report.followAfterMs !== undefined) followLater(reply.report.followAfterMs);
      if (pinned && !warnedPinned) {
        warnedPinned = true;
        log.info('keeping the tick worker: a process started by activation still holds its output pipes (redirect its stdout/stderr to let the agent idle small)');
      }
      lastTick = summarizeTick(reply.report, reasons);
      return { skipped: false, exitCode: reply.report.exitCode, commit: reply.report.commit, summary: lastTick };
    } finally {
      workers.scheduleRetire(retireAfterMs(basis?.last, config.keepWarmMs, pinned));
    }
  };
  let followTimer: NodeJS.Timeout | undefined;
  const followLater = (ms: number): void => {
    clearTimeout(followTimer);
    followTimer = setTimeout(() => void queue.request('follow'), ms);
    followTimer.unref();
  };
  const queue = createSingleFlight(tick, { onError: (err) => log.error({ err: (err as Error).message }, 'tick crashed') });
  let triggers;
  try {
    triggers = await startTriggers({ config, queue, metrics, log });
  } catch (err) {
    await workers.stop();
    throw err;
  }
  for (const s of triggers.servers) log.info({ address: s.url }, 'listening');
  // The socket is a convenience for operators: an agent that cannot make one still reconciles.
  const handle = createControlService({ config, queue, lastTick: () => lastTick, lastSkippedPoll: () => lastSkippedPoll });
  const control: ControlSocket | undefined = await startControlSocket({ path: controlSocketFile(config.stateDir), handle, log }).catch((err: unknown) => {
    log.warn({ err: (err as Error).message }, 'no control socket: flotilla agent reconcile and agent status --live are unavailable');
    return undefined;
  });
  if (control) log.info({ socket: control.path }, 'listening');
  void queue.request('start');
  await Promise.race([waitForAbort(o.signal), waitForAbort(self.signal)]);
  log.info('stopping: letting the running tick finish');
  clearTimeout(followTimer);
  // Tell the worker first, so the running tick aborts its fetches now rather than after the triggers close.
  const stopping = workers.stop();
  await control?.close();
  await triggers.stop();
  await Promise.all([stopping, workers.stop()]);
  await heads.close();
  await releaseStateDirLock(config.stateDir, process.pid);
  if (fatalError !== undefined) throw fatalError;
  return 0;
}
