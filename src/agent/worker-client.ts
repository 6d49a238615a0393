// The supervisor's handle on one tick worker process: fork it, wait until it is ready, ask for ticks, stop it.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ERROR_CLASSES, FlotillaError, InternalError, isErrorCode } from '../errors/index.js';
import { FLOTILLA_VERSION } from '../util/version.js';
import type { AgentConfig } from '../declarations/types.js';
import { isFromWorker, type TickReply, type ToWorker, type WireError } from './worker-protocol.js';
import { deferCaCerts } from '../util/deferred-ca-certs.js';

/** The worker's entry module, next to this one (dist/src/agent/tick-worker-main.js in a build). */
export const WORKER_ENTRY = fileURLToPath(new URL('./tick-worker-main.js', import.meta.url));

/** A running tick worker. */
export interface WorkerClient {
  readonly pid: number;
  /** The validated config the worker loaded (or was given). */
  readonly config: AgentConfig;
  /** Runs one tick (`knownHead`: see ToWorker); rejects when the worker fails the tick or exits before replying. */
  tick(options?: { knownHead?: string }): Promise<TickReply>;
  /** Asks the worker to stop (abort, finish the running step, exit) and resolves once it has exited. */
  stop(): Promise<void>;
  /** SIGKILL (a worker that does not leave when asked); resolves once it has exited. */
  kill(): Promise<void>;
  /** True until the process has exited. */
  alive(): boolean;
  /** Resolves when the process has exited (on its own or after stop). */
  readonly exited: Promise<void>;
}

/** Rebuilds the worker's error as the same Flotilla error class (same code, message and data). */
export function fromWireError(e: WireError): FlotillaError {
  if (isErrorCode(e.code)) return new ERROR_CLASSES[e.code](e.message, e.data);
  return new InternalError(e.message, { ...e.data, code: e.code });
}

/**
 * The tick worker on disk is another Flotilla version than this running supervisor (an upgrade without
 * a restart). The daemon stops with it (exit 1), so its service manager restarts it on the new version.
 */
export class VersionSkewError extends InternalError {
  constructor(readonly workerVersion: string) {
    super(`the tick worker is flotilla ${workerVersion} but this agent runs ${FLOTILLA_VERSION}: restart the agent (systemctl restart flotilla-agent)`, { workerVersion, agentVersion: FLOTILLA_VERSION });
  }
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `signal ${signal}` : `code ${code}`;
}

/**
 * Forks a worker (IPC channel; stdout and stderr inherited so its log lines join the daemon's) and sends
 * it `init`; resolves once it reports ready. Rejects with the worker's own error when it cannot build the
 * agent (ConfigError, KeyError, …), or InternalError when it exits first. `entry` is for tests.
 */
export async function startWorker(init: Extract<ToWorker, { type: 'init' }>, options: { entry?: string; env?: NodeJS.ProcessEnv } = {}): Promise<WorkerClient> {
  const child: ChildProcess = fork(options.entry ?? WORKER_ENTRY, [], {
    // No V8 flag of its own here: it sets them as it starts (worker-v8-flags.ts), keeping Node's code cache.
    execArgv: [...process.execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
    // The worker, restarted after every idle spell, parses NODE_EXTRA_CA_CERTS at its first TLS connection, not at each start.
    env: deferCaCerts(options.env ?? process.env),
  });
  let exited = false;
  const exitedPromise = new Promise<void>((done) => child.once('exit', () => ((exited = true), done())));
  let nextId = 0;
  const waiting = new Map<number, { resolve: (r: TickReply) => void; reject: (e: Error) => void }>();
  const config = await new Promise<AgentConfig>((resolve, reject) => {
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => reject(new InternalError(`tick worker exited (${describeExit(code, signal)}) before it was ready`, { code, signal }));
    child.once('exit', onExit);
    child.once('error', (err) => reject(new InternalError(`tick worker could not start: ${err.message}`)));
    child.on('message', function first(m: unknown) {
      if (!isFromWorker(m) || (m.type !== 'ready' && m.type !== 'init-failed')) return;
      child.off('message', first);
      child.off('exit', onExit);
      if (m.type === 'init-failed') reject(fromWireError(m.error));
      // Flotilla was upgraded on disk under this running supervisor: the two must not be mixed.
      else if (m.version !== FLOTILLA_VERSION) reject(new VersionSkewError(m.version));
      else resolve(m.config);
    });
    child.send(init);
  }).catch(async (err: unknown) => {
    if (!exited) child.kill('SIGKILL');
    await exitedPromise;
    throw err;
  });
  child.on('message', (m: unknown) => {
    if (!isFromWorker(m) || (m.type !== 'report' && m.type !== 'tick-failed')) return;
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.type === 'report') w?.resolve(m);
    else w?.reject(fromWireError(m.error));
  });
  child.on('exit', (code, signal) => {
    for (const w of waiting.values()) w.reject(new InternalError(`tick worker exited (${describeExit(code, signal)}) during a tick`, { code, signal }));
    waiting.clear();
  });
  const send = (m: ToWorker): void => {
    if (!child.connected) return;
    child.send(m, (err: Error | null) => void err);
  };
  return {
    pid: child.pid ?? -1,
    config,
    exited: exitedPromise,
    alive: () => !exited,
    tick(options = {}) {
      if (exited) return Promise.reject(new InternalError('tick worker is gone'));
      const id = ++nextId;
      return new Promise<TickReply>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        send({ type: 'tick', id, ...(options.knownHead !== undefined ? { knownHead: options.knownHead } : {}) });
      });
    },
    async stop() {
      send({ type: 'stop' });
      await exitedPromise;
    },
    async kill() {
      if (!exited) child.kill('SIGKILL');
      await exitedPromise;
    },
  };
}
