import type { CommandRunner } from '../activation/run-command.js';
import type { Receiver } from '../declarations/types.js';
import { FLOTILLA_VERSION } from '../util/version.js';
import { eventBody, type NotificationEvent } from './event.js';
import { SIGNATURE_HEADER, signBody } from './hmac.js';

/** How a delivery reaches the outside: the secret resolver and the command runner (ports, for tests). */
export interface SendPorts {
  /** The bytes of a named secret from the agent config; throws ConfigError when it has none. */
  secretOf(name: string): Promise<Buffer>;
  runner: CommandRunner;
  /** Aborts attempts in flight (the agent is stopping); an aborted attempt is retried later, by the next process. */
  signal?: AbortSignal;
}

/**
 * Delivers `event` to one receiver within its deadline (`timeoutMs` covers the whole exchange): a webhook
 * gets a POST of the event JSON signed with HMAC-SHA256 and succeeds on 2xx; a command gets the JSON on
 * stdin and succeeds on exit 0. Resolves with null on success or a one-line reason (no secret in it).
 */
export async function sendEvent(receiver: Receiver, event: NotificationEvent, ports: SendPorts): Promise<string | null> {
  const body = eventBody(event);
  if (receiver.type === 'command') {
    const r = await ports.runner({ argv: receiver.command, timeoutMs: receiver.timeoutMs, input: body, maxOutputBytes: 4096, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', FLOTILLA_EVENT: event.kind, FLOTILLA_EVENT_ID: event.id }, ...(ports.signal ? { signal: ports.signal } : {}) });
    if (r.spawnError !== undefined) return `could not start ${receiver.command[0] ?? '?'}: ${r.spawnError}`;
    if (r.timedOut) return `timed out after ${receiver.timeoutMs} ms`;
    return r.exitCode === 0 ? null : `exited with ${r.exitCode ?? r.signal ?? '?'}: ${r.stderrTail.trim().slice(-300)}`;
  }
  let secret: Buffer;
  try {
    secret = await ports.secretOf(receiver.secret);
  } catch (err) {
    return (err as Error).message;
  }
  try {
    const res = await fetch(receiver.url, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal: ports.signal ? AbortSignal.any([AbortSignal.timeout(receiver.timeoutMs), ports.signal]) : AbortSignal.timeout(receiver.timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': `flotilla/${FLOTILLA_VERSION}`,
        [SIGNATURE_HEADER]: signBody(body, secret),
        'X-Flotilla-Event': event.kind,
        'X-Flotilla-Delivery': event.id,
      },
    });
    // The answer's body is not ours to read: a receiver streaming forever must not hold the sender.
    await res.body?.cancel().catch(() => undefined);
    return res.status >= 200 && res.status < 300 ? null : `HTTP ${res.status}`;
  } catch (err) {
    const e = err as Error;
    return e.name === 'TimeoutError' ? `no answer within ${receiver.timeoutMs} ms` : `${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ''}`;
  }
}
