// `flotilla agent` in daemon mode: a small supervisor process (triggers, the single-flight queue, metrics,
// the logger) and a tick worker child process that holds the heavy reconcile code only while ticks come.
// The supervisor never loads isomorphic-git, yaml, ajv, the AWS SDK, openpgp or src/reconcile (a test walks
// its import graph): an idle agent is this process alone.
import type { Logger } from 'pino';
import type { AgentConfig } from '../declarations/types.js';
import { FlotillaError } from '../errors/index.js';
import { STATUS_HEARTBEAT_MS } from '../status/report-due.js';
import { createLogger } from '../util/logger.js';
import { createAgentMetrics } from './agent-metrics.js';
import { readBranchHead } from './head-check.js';
import { readStateStamp } from './state-stamp.js';
import type { AgentCarry } from './run-agent.js';
import { createSingleFlight, type TriggerReason } from './single-flight.js';
import { recordTickMetrics } from './tick-metrics.js';
import { startTriggers } from './triggers.js';
import { startWorker, VersionSkewError, type WorkerClient } from './worker-client.js';
import { releaseStateDirLock } from './state-dir-lock.js';
import { lastTickOf, mayAnswerPollCheaply, retireAfterMs, type LastTick } from './worker-policy.js';

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

/** What a tick of the supervisor's queue resolves with: the worker's report, or a skipped poll. */
export type SupervisedTick = { skipped: true; commit: string | null } | { skipped: false; exitCode: 0 | 1 | 3; commit: string | null };

/** How soon a retirement that met a running tick looks again. */
const RETIRE_RETRY_MS = 1000;
/** How long an idle worker asked to stop may take before it is killed. */
const RETIRE_KILL_AFTER_MS = 30_000;

/** How long a worker that died while starting waits for the stop signal that may explain it. */
const STOP_GRACE_MS = 1000;

/** True when `signal` is aborted now or within `ms`. */
function abortedWithin(signal: AbortSignal, ms: number): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), done(true)), { once: true });
  });
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
  let worker: WorkerClient | undefined;
  try {
    worker = await startWorker({ type: 'init', configPath: o.configPath, shownFile: o.shownFile }, workerOptions);
  } catch (err) {
    // Ctrl-C while starting reaches the worker too: it leaves before it is ready. That is a stop, not a
    // failure. Our own SIGINT may be read a moment after the worker's death, hence the short wait.
    const crashed = !(err instanceof FlotillaError) || err.code === 'InternalError';
    if (crashed && (await abortedWithin(o.signal, STOP_GRACE_MS))) return 0;
    throw err;
  }
  const config: AgentConfig = worker.config;
  const log: Logger = createLogger({ level: o.env['FLOTILLA_LOG_LEVEL'] ?? config.logLevel, name: config.machine });
  const metrics = createAgentMetrics();
  let last: LastTick | undefined;
  let carry: AgentCarry | undefined;
  /** The sets' state files as the last full tick left them (readStateStamp). */
  let stamp = '';
  let sets: string[] = [];
  let pinned = false;
  let warnedPinned = false;
  let retireTimer: NodeJS.Timeout | undefined;
  let retiring: Promise<void> | undefined;
  let shuttingDown = false;
  // A condition the daemon cannot run past (version skew): stop as on SIGTERM, then fail with it.
  const self = new AbortController();
  let fatalError: Error | undefined;
  const fatal = (err: Error): void => {
    fatalError ??= err;
    self.abort();
  };

  const retire = (): void => {
    const w = worker;
    if (w === undefined) return;
    // A poll being answered from the head check is not a tick and does not need the worker, but a full
    // tick may be starting: look again shortly (the tick's end re-arms the countdown anyway).
    if (queue.state().running) {
      retireTimer = setTimeout(retire, RETIRE_RETRY_MS);
      retireTimer.unref();
      return;
    }
    worker = undefined;
    log.debug({ pid: w.pid }, 'tick worker retired');
    // An idle worker leaves at once; one that does not is killed rather than left to block the next tick.
    const deadline = setTimeout(() => void w.kill(), RETIRE_KILL_AFTER_MS);
    retiring = w.stop().finally(() => {
      clearTimeout(deadline);
      retiring = undefined;
    });
  };
  const scheduleRetire = (): void => {
    clearTimeout(retireTimer);
    const after = retireAfterMs(last, config.keepWarmMs, pinned);
    if (after === null) return;
    retireTimer = setTimeout(retire, after);
    retireTimer.unref();
  };
  const liveWorker = async (): Promise<WorkerClient> => {
    await retiring;
    if (worker?.alive()) return worker;
    worker = await startWorker({ type: 'init', config, ...(carry ? { carry } : {}) }, workerOptions).catch((err: unknown) => {
      if (err instanceof VersionSkewError) fatal(err);
      throw err;
    });
    log.debug({ pid: worker.pid }, 'tick worker started');
    return worker;
  };
  const tick = async (reasons: readonly TriggerReason[]): Promise<SupervisedTick> => {
    if (last !== undefined && mayAnswerPollCheaply({ reasons, last, nowMs: Date.now(), heartbeatMs: STATUS_HEARTBEAT_MS })) {
      const stateUnchanged = (await readStateStamp(config.stateDir, sets)) === stamp;
      const head = stateUnchanged
        ? await readBranchHead(config.repo).catch((err: unknown) => {
            log.debug({ err: (err as Error).message }, 'poll: head check failed, running a full tick');
            return undefined;
          })
        : undefined;
      if (!stateUnchanged) log.debug({ trigger: 'cron' }, 'poll: local state changed since the last tick, running a full tick');
      if (head === last.commit) {
        log.debug({ trigger: 'cron', commit: head }, 'poll: branch head unchanged, tick skipped');
        metrics.countSkippedPoll();
        return { skipped: true, commit: head };
      }
    }
    if (shuttingDown) throw new Error('stopping');
    // A skipped poll is not a tick: only a full one restarts the keepWarm countdown.
    clearTimeout(retireTimer);
    const w = await liveWorker();
    try {
      // Until this tick reports, nothing is known to be settled: a tick that crashes leaves the next poll
      // to run a full tick, whatever the head says.
      last = undefined;
      const reply = await w.tick();
      recordTickMetrics(metrics, reply.report, reply.badDigests);
      carry = reply.carry;
      sets = reply.report.outcomes.map((o) => o.set);
      stamp = await readStateStamp(config.stateDir, sets);
      last = lastTickOf(reply.report, Date.now());
      pinned = reply.pinned;
      if (pinned && !warnedPinned) {
        warnedPinned = true;
        log.info('keeping the tick worker: a process started by activation still holds its output pipes (redirect its stdout/stderr to let the agent idle small)');
      }
      return { skipped: false, exitCode: reply.report.exitCode, commit: reply.report.commit };
    } finally {
      scheduleRetire();
    }
  };
  const queue = createSingleFlight(tick, { onError: (err) => log.error({ err: (err as Error).message }, 'tick crashed') });
  let triggers;
  try {
    triggers = await startTriggers({ config, queue, metrics, log });
  } catch (err) {
    await worker.stop();
    throw err;
  }
  for (const s of triggers.servers) log.info({ address: s.url }, 'listening');
  void queue.request('start');
  await Promise.race([waitForAbort(o.signal), waitForAbort(self.signal)]);
  log.info('stopping: letting the running tick finish');
  shuttingDown = true;
  clearTimeout(retireTimer);
  // Tell the worker first, so the running tick aborts its fetches now rather than after the triggers close.
  const stopping = worker?.stop();
  await triggers.stop();
  await Promise.all([stopping, worker?.stop(), retiring]);
  await releaseStateDirLock(config.stateDir, process.pid);
  if (fatalError !== undefined) throw fatalError;
  return 0;
}
