import { readFile } from 'node:fs/promises';
import type { AgentConfig, ListenAddress } from '../declarations/types.js';
import { ConfigError } from '../errors/index.js';
import type { AgentMetrics } from './agent-metrics.js';
import { startCronTrigger, type TriggerLog } from './cron-trigger.js';
import { startIntervalTrigger } from './interval-trigger.js';
import { reportHealthz } from './healthz.js';
import { startAgentHttpServer, type AgentHttpOptions, type AgentHttpServer } from './http-server.js';
import type { RequestOutcome, SingleFlight, TriggerReason } from './single-flight.js';

/** The parts of the agent config the triggers read. */
export type TriggerConfig = Pick<AgentConfig, 'machine' | 'repo' | 'watchPath' | 'webhook' | 'metrics'>;

/** Options of startTriggers. */
export interface StartTriggersOptions {
  config: TriggerConfig;
  queue: SingleFlight;
  metrics: AgentMetrics;
  /** Reads the webhook secret file; default: the file's text without surrounding whitespace. */
  readSecret?: (file: string) => Promise<string>;
  /** Clock port for /healthz (default Date.now). */
  now?: () => number;
  /** /healthz turns 503 when one tick runs longer than this (default healthz.ts DEFAULT_WEDGED_AFTER_MS). */
  wedgedAfterMs?: number;
  log?: TriggerLog;
}

/** Running triggers: the HTTP servers (for their bound ports) and stop(). */
export interface RunningTriggers {
  servers: AgentHttpServer[];
  /**
   * Stops every trigger and server (no new requests), then lets the running tick finish (the queue's
   * stop()). What SIGTERM calls; resolves when it is safe to exit 0.
   */
  stop(): Promise<void>;
}

/**
 * Starts every configured trigger feeding `queue`: the poll timer (always: every `pollInterval` at this
 * machine's own moment of it, or the cron `pollSchedule` when one is set), the chokidar watch on
 * `watchPath` (when set), and one HTTP server per distinct listen address (webhook when configured;
 * /metrics and /healthz when metrics are enabled; both on one server if they share an address).
 * Throws ConfigError for a bad schedule, time zone, watch path or secret file; rejects with the listen
 * error. On any failure everything already started is stopped first.
 */
export async function startTriggers(options: StartTriggersOptions): Promise<RunningTriggers> {
  const { config, queue } = options;
  const stops: Array<() => Promise<void>> = [];
  const servers: AgentHttpServer[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  try {
    const request = (reason: TriggerReason): Promise<RequestOutcome> => queue.request(reason);
    // A cron schedule only when one is asked for: wall-clock slots make the whole fleet poll in the same second.
    const schedule = config.repo.pollSchedule;
    stops.push(
      schedule === undefined
        ? startIntervalTrigger({ intervalMs: config.repo.pollIntervalMs, machine: config.machine, maxRandomDelayMs: config.repo.jitterMs, request, ...(options.log ? { log: options.log } : {}) })
        : startCronTrigger({ schedule, timezone: config.repo.timeZone, maxRandomDelayMs: config.repo.jitterMs, request, ...(options.log !== undefined ? { log: options.log } : {}) }),
    );
    if (config.watchPath !== undefined) {
      // Loaded only when configured: chokidar stays out of a daemon that does not watch.
      const { startWatchTrigger } = await import('./watch-trigger.js');
      stops.push(await startWatchTrigger({ repoPath: config.watchPath, request: (reason) => queue.request(reason), ...(options.log !== undefined ? { log: options.log } : {}) }));
    }
    for (const route of await planServers(options)) {
      const server = await startAgentHttpServer(route);
      servers.push(server);
      stops.push(() => server.close());
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  return {
    servers,
    stop: async () => {
      await stopAll();
      await queue.stop();
    },
  };
}

/** Groups the webhook and metrics routes by listen address. */
async function planServers(options: StartTriggersOptions): Promise<AgentHttpOptions[]> {
  const byAddress = new Map<string, AgentHttpOptions>();
  const at = (listen: ListenAddress): AgentHttpOptions => {
    const key = `${listen.host}|${listen.port}`;
    let entry = byAddress.get(key);
    if (entry === undefined) {
      entry = { host: listen.host, port: listen.port, ...(options.log !== undefined ? { log: options.log } : {}) };
      byAddress.set(key, entry);
    }
    return entry;
  };
  const { webhook, metrics } = options.config;
  if (webhook !== undefined) {
    const secret = await (options.readSecret ?? readSecretFile)(webhook.secretFile);
    at(webhook.listen).webhook = { secret, request: (reason) => options.queue.request(reason) };
  }
  if (metrics.enabled) {
    const entry = at(metrics.listen);
    entry.metrics = options.metrics.registry;
    const now = options.now ?? Date.now;
    entry.healthz = () => reportHealthz(options.queue.state(), now(), options.wedgedAfterMs);
  }
  return [...byAddress.values()];
}

/** Reads a secret file; throws ConfigError naming the file when it is missing or empty (never its content). */
export async function readSecretFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`webhook.secretFile ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, {
      field: 'webhook.secretFile',
      file,
    });
  }
  const secret = text.trim();
  if (secret === '') throw new ConfigError(`webhook.secretFile ${file} is empty`, { field: 'webhook.secretFile', file });
  return secret;
}
