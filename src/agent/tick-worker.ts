// The daemon's tick worker: a child process of the supervisor (supervisor.ts) that holds everything heavy
// (config validation, isomorphic-git, trust, stores, the reconcile steps) and runs the ticks it is asked
// for. It lives while ticks come often and is retired when idle, so an idle agent is only the supervisor.
import { resolve as resolvePath } from 'node:path';
import { formatIssue, loadAgentConfig } from '../declarations/index.js';
import type { AgentConfig } from '../declarations/types.js';
import { ConfigError } from '../errors/index.js';
import { createLogger } from '../util/logger.js';
import { FLOTILLA_VERSION } from '../util/version.js';
import { holdsNewPipes, readOpenPipes } from './pipe-holders.js';
import { createAgent, type Agent } from './run-agent.js';
import { warmSetLocks } from './warm-locks.js';
import { isToWorker, toWireError, type FromWorker, type ToWorker } from './worker-protocol.js';

/** The IPC side of the worker: process in production, a fake only in a unit test of the protocol. */
export interface WorkerChannel {
  send(message: FromWorker): void;
  on(event: 'message', listener: (m: unknown) => void): void;
  on(event: 'disconnect', listener: () => void): void;
}

async function loadConfig(init: Extract<ToWorker, { type: 'init' }>): Promise<AgentConfig> {
  if ('config' in init) return init.config;
  const loaded = await loadAgentConfig(resolvePath(init.configPath));
  if (!loaded.ok) {
    const issues = loaded.errors.map(formatIssue);
    throw new ConfigError(`invalid agent config:\n${issues.join('\n')}`, { file: init.shownFile, issues });
  }
  return loaded.value;
}

/**
 * Runs the worker on `channel` until told to stop: waits for `init`, builds the agent (exactly the errors
 * of `flotilla agent`: ConfigError for an invalid file, KeyError for a missing trust key), then runs one
 * tick per `tick` message, never two at once. `stop`, SIGTERM and SIGINT abort the running tick's
 * abortable steps (a switch and its health checks always finish), let it reply, then close and resolve 0.
 * A lost channel (the supervisor died) without a stop ends the process with SIGKILL at once: a kill at any
 * moment is safe by design, and a worker must never outlive its daemon. Resolves with the exit code.
 * `started.codeCache`: whether its modules were compiled from the bundle's code cache (logged at debug).
 */
export async function runTickWorker(channel: WorkerChannel, env: NodeJS.ProcessEnv, started: { codeCache?: boolean } = {}): Promise<0 | 1> {
  const abort = new AbortController();
  let stopping = false;
  let agent: Agent | undefined;
  let running: Promise<void> = Promise.resolve();
  let done: (code: 0 | 1) => void = () => undefined;
  const finished = new Promise<0 | 1>((r) => (done = r));
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    abort.abort();
    void running.then(async () => {
      await agent?.close().catch(() => undefined);
      done(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  channel.on('disconnect', () => {
    if (!stopping) process.kill(process.pid, 'SIGKILL');
  });
  let baseline: Set<string> | undefined;
  const runOne = async (id: number, knownHead: string | undefined): Promise<void> => {
    if (agent === undefined) return;
    try {
      const report = await agent.tick(knownHead !== undefined ? { knownHead } : {});
      const pinned = holdsNewPipes(baseline, await readOpenPipes());
      channel.send({ type: 'report', id, report, badDigests: agent.badDigests(), carry: agent.carry(), pinned });
    } catch (err) {
      channel.send({ type: 'tick-failed', id, error: toWireError(err) });
    }
  };
  channel.on('message', (m: unknown) => {
    if (!isToWorker(m)) return;
    if (m.type === 'stop') return stop();
    if (m.type === 'tick') {
      if (stopping) return;
      running = running.then(() => runOne(m.id, m.knownHead));
      return;
    }
    running = running.then(async () => {
      try {
        const config = await loadConfig(m);
        const log = createLogger({ level: env['FLOTILLA_LOG_LEVEL'] ?? config.logLevel, name: config.machine });
        agent = await createAgent({ config, log, signal: abort.signal, lockOwner: process.ppid, ...(m.type === 'init' && 'carry' in m && m.carry ? { carry: m.carry } : {}) });
        await warmSetLocks(config.stateDir);
        baseline = await readOpenPipes();
        channel.send({ type: 'ready', config, version: FLOTILLA_VERSION });
        log.debug({ codeCache: started.codeCache === true }, 'tick worker ready');
      } catch (err) {
        channel.send({ type: 'init-failed', error: toWireError(err) });
        stopping = true;
        done(1);
      }
    });
  });
  return finished;
}
