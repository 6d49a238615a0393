import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { CommandRunner } from '../activation/run-command.js';
import type { AgentConfig } from '../declarations/types.js';
import { credentialsFor } from '../declarations/store-credentials.js';
import { ConfigError } from '../errors/index.js';
import { deliverOutbox } from '../notify/index.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';

/** Delivers the outbox in the background of an agent process; see createNotifier. */
export interface Notifier {
  /** Starts a delivery round now unless one runs (then another follows it). Returns at once. */
  kick(): void;
  /** Waits for the round in flight to end (each attempt has its deadline): `agent --once` delivers before it exits. */
  settle(): Promise<void>;
  /** Stops the retry timer, aborts the attempts in flight (retried by the next process) and closes stores. */
  close(): Promise<void>;
}

/**
 * The HMAC secret `name` from the agent config (notificationSecrets): a file's contents or a variable's
 * value, trimmed. Throws ConfigError naming the secret (never its bytes) when it is missing or empty.
 */
export async function readNotificationSecret(config: Pick<AgentConfig, 'notificationSecrets'>, name: string, env: NodeJS.ProcessEnv): Promise<Buffer> {
  const ref = config.notificationSecrets[name];
  if (ref === undefined) throw new ConfigError(`the agent config has no notificationSecrets.${name}: add it (file: or env:) to sign this receiver's webhooks`, { secret: name });
  const text = 'file' in ref ? await readFile(ref.file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ConfigError(`notificationSecrets.${name}: cannot read ${ref.file} (${err.code ?? err.message})`, { secret: name, file: ref.file });
  }) : (env[ref.env] ?? '');
  const secret = text.trim();
  if (secret === '') throw new ConfigError(`notificationSecrets.${name} is empty`, { secret: name });
  return Buffer.from(secret, 'utf8');
}

/**
 * A background deliverer of this machine's outbox (src/notify/deliver.ts): a round runs after each tick
 * (kick) and when a retry falls due, never inside a tick, so no receiver can hold a rollout back. Rounds
 * never overlap; a kick during a round asks for one more.
 */
export function createNotifier(o: { config: AgentConfig; log: Logger; runner: CommandRunner; env?: NodeJS.ProcessEnv }): Notifier {
  const env = o.env ?? process.env;
  const stores = new Map<string, Store>();
  let running: Promise<void> | null = null;
  let again = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const stopping = new AbortController();
  const storeAt = (url: string): Store => {
    let s = stores.get(url);
    if (s === undefined) {
      const credentials = credentialsFor(url, o.config.storeCredentials, env);
      s = openStore(url, { writable: true, ...(credentials ? { credentials } : {}) });
      stores.set(url, s);
    }
    return s;
  };
  const round = async (): Promise<void> => {
    do {
      again = false;
      const next = await deliverOutbox({
        stateDir: o.config.stateDir, openStore: storeAt, now: () => new Date(), log: o.log, runner: o.runner, signal: stopping.signal,
        secretOf: (name) => readNotificationSecret(o.config, name, env),
      }).catch((err: unknown) => {
        o.log.warn({ err: (err as Error).message }, 'notification: could not read the outbox');
        return undefined;
      });
      clearTimeout(timer);
      if (next !== undefined && !closed) {
        timer = setTimeout(kick, Math.max(0, next.getTime() - Date.now()));
        timer.unref();
      }
    } while (again && !closed);
  };
  function kick(): void {
    if (closed) return;
    if (running !== null) {
      again = true;
      return;
    }
    running = round().finally(() => {
      running = null;
    });
  }
  return {
    kick,
    async settle() {
      while (running !== null) await running;
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      stopping.abort();
      await running;
      await Promise.all([...stores.values()].map((s) => s.close()));
    },
  };
}
