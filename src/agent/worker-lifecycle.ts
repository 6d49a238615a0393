// The supervisor's one tick worker over time: started when a tick needs it, retired when idle, restarted
// after a retirement or a crash with the memory the last one handed over, stopped with the daemon.
import type { Logger } from 'pino';
import type { AgentConfig } from '../declarations/types.js';
import { FlotillaError } from '../errors/index.js';
import type { AgentCarry } from './run-agent.js';
import { VersionSkewError, type WorkerClient } from './worker-client.js';
import type { ToWorker } from './worker-protocol.js';

/** How a worker is started: startWorker with the daemon's options in production. */
export type StartWorker = (init: Extract<ToWorker, { type: 'init' }>) => Promise<WorkerClient>;

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

/**
 * Starts the daemon's first worker, which loads and validates the config: its error (ConfigError,
 * KeyError, …) is thrown unchanged. Resolves undefined when the worker died while `signal` aborted (Ctrl-C
 * reaches the worker too and it leaves before it is ready: a stop, not a failure).
 */
export async function startFirstWorker(start: StartWorker, init: Extract<ToWorker, { type: 'init' }>, signal: AbortSignal): Promise<WorkerClient | undefined> {
  try {
    return await start(init);
  } catch (err) {
    // Our own SIGINT may be read a moment after the worker's death, hence the short wait.
    const crashed = !(err instanceof FlotillaError) || err.code === 'InternalError';
    if (crashed && (await abortedWithin(signal, STOP_GRACE_MS))) return undefined;
    throw err;
  }
}

/** Options of WorkerLifecycle. */
export interface WorkerLifecycleOptions {
  config: AgentConfig;
  log: Logger;
  start: StartWorker;
  /** True while a tick runs: a retirement then waits rather than stopping the worker under it. */
  busy: () => boolean;
  /** A new worker is another Flotilla version (VersionSkewError): the daemon must stop. */
  onFatal: (err: Error) => void;
  /** How soon a retirement that met a running tick looks again (tests shorten it). */
  retireRetryMs?: number;
}

/** A carry without the sets recovered: after a crash the next worker runs recovery again. */
function withoutRecovery(carry: AgentCarry): AgentCarry {
  const { recovered: _dropped, ...rest } = carry;
  return rest;
}

/**
 * Owns the tick worker: `acquire` before a tick, `remember` its carry after, `scheduleRetire` when the tick
 * ends, `stop` with the daemon. At most one worker is alive; a retiring one is awaited before the next
 * starts, so two never touch the state dir at once.
 */
export class WorkerLifecycle {
  private worker: WorkerClient | undefined;
  private carry: AgentCarry | undefined;
  private retireTimer: NodeJS.Timeout | undefined;
  private retiring: Promise<void> | undefined;
  private stopping = false;
  /** True when the last worker left because we retired it while idle (not a crash): its recovery carries on. */
  private retiredIdle = false;

  constructor(first: WorkerClient | undefined, private readonly o: WorkerLifecycleOptions) {
    this.worker = first;
  }

  /**
   * The live worker: the current one, or a new one (given the last carry) after a retirement or a crash.
   * Rejects with the start error; a VersionSkewError is also reported to onFatal. Rejects once stopping.
   */
  async acquire(): Promise<WorkerClient> {
    await this.retiring;
    if (this.stopping) throw new Error('stopping');
    if (this.worker?.alive()) return this.worker;
    const carry = this.carry === undefined ? undefined : this.retiredIdle ? this.carry : withoutRecovery(this.carry);
    this.retiredIdle = false;
    const init = { type: 'init' as const, config: this.o.config, ...(carry ? { carry } : {}) };
    this.worker = await this.o.start(init).catch((err: unknown) => {
      if (err instanceof VersionSkewError) this.o.onFatal(err);
      throw err;
    });
    this.o.log.debug({ pid: this.worker.pid }, 'tick worker started');
    return this.worker;
  }

  /** Keeps what a tick's worker handed over, for the worker that follows it. */
  remember(carry: AgentCarry): void {
    this.carry = carry;
  }

  /** Cancels a pending retirement: a full tick is starting. */
  holdRetire(): void {
    clearTimeout(this.retireTimer);
  }

  /** Retires the worker `afterMs` from now, or keeps it when null (replaces any earlier countdown). */
  scheduleRetire(afterMs: number | null): void {
    clearTimeout(this.retireTimer);
    if (afterMs === null || this.stopping) return;
    this.retireTimer = setTimeout(() => this.retire(), afterMs);
    this.retireTimer.unref();
  }

  private retire(): void {
    const w = this.worker;
    if (w === undefined) return;
    // A poll answered from the head check needs no worker, but a full tick may be starting: look again
    // shortly (the tick's end re-arms the countdown anyway).
    if (this.o.busy()) {
      this.retireTimer = setTimeout(() => this.retire(), this.o.retireRetryMs ?? RETIRE_RETRY_MS);
      this.retireTimer.unref();
      return;
    }
    this.worker = undefined;
    // Idle: no tick is cut short, so nothing is left pending or held for the next worker to recover.
    this.retiredIdle = true;
    this.o.log.debug({ pid: w.pid }, 'tick worker retired');
    // An idle worker leaves at once; one that does not is killed rather than left to block the next tick.
    const deadline = setTimeout(() => void w.kill(), RETIRE_KILL_AFTER_MS);
    this.retiring = w.stop().finally(() => {
      clearTimeout(deadline);
      this.retiring = undefined;
    });
  }

  /**
   * Stops the worker (it aborts its fetches and finishes its step) and any retirement under way; no worker
   * starts after. Call it again after the triggers stop, to catch one that was starting meanwhile.
   */
  stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retireTimer);
    return Promise.all([this.worker?.stop(), this.retiring]).then(() => undefined);
  }
}
