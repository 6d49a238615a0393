import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, TimeoutError, TransportError } from '../errors/index.js';
import { abortReason, startDeadline } from './deadline.js';
import { certificateErrorCode, httpNetworkError } from './http-errors.js';
import { isRetryableStatus, retryDelayMs } from '../util/retry-delay.js';
import { sendOnce, type HttpAgents, type HttpExchange } from './http-request.js';
import { SMALL_BODY_BYTES, type StoreDeadlines } from './store-options.js';

/** Redirects followed per request at most. */
export const MAX_REDIRECTS = 5;

/** How an HTTP store sends: its deadlines, its redirect policy, its socket pools and its own abort signal. */
export interface HttpSendPolicy {
  /** The store URL without credentials, for messages. */
  url: string;
  /** The store's own origin: redirects there are always followed, with credentials. */
  origin: string;
  /** Further origins a redirect may lead to (followed without credentials). */
  allowRedirectTo: readonly string[];
  deadlines: StoreDeadlines;
  agents: HttpAgents;
  /** Aborts every request of the store (the CLI's SIGTERM). */
  signal?: AbortSignal;
}

const REDIRECT = new Set([301, 302, 303, 307, 308]);

/** Drops a response's body without reading it (frees the socket). */
export function discard(res: IncomingMessage): void {
  res.resume();
  res.on('error', () => undefined);
}

function nextHop(res: IncomingMessage, from: string, p: HttpSendPolicy, op: string, key: string, hops: number): string {
  const where = `${op} ${key} in ${p.url}`;
  const data = { url: p.url, key, op, status: res.statusCode };
  if (hops >= MAX_REDIRECTS) throw new TransportError(`${where}: more than ${MAX_REDIRECTS} redirects`, data);
  const location = res.headers.location;
  if (location === undefined) throw new TransportError(`${where}: HTTP ${res.statusCode} without a Location`, data);
  const to = new URL(location, from);
  if (to.origin !== p.origin && !p.allowRedirectTo.includes(to.origin)) {
    throw new ConfigError(`${where}: redirected to ${to.origin}, which is not allowed (add ?allowRedirectTo=${to.origin} to the store URL if you trust it)`, { ...data, to: to.origin });
  }
  return to.href;
}

/**
 * Sends `x` for `op` on `key` and resolves with the final response's headers (the body is the caller's).
 * GET and HEAD follow up to MAX_REDIRECTS redirects to the store's origin or an allowed one, sending
 * credentials only to the store's own origin (ConfigError for any other origin, TransportError past the
 * count); writes are never redirected (the 3xx comes back). GET and HEAD retry transport errors, timeouts
 * 5xx and 429 up to `attempts`, waiting as Retry-After asks or with jittered backoff (retry-delay.ts). Requests without a large body must finish (up to their response
 * headers) within `timeoutMs` over all attempts, or fail with TimeoutError naming the store and the key;
 * the caller's and the store's signals abort at once.
 */
export async function sendHttp(p: HttpSendPolicy, op: string, key: string, x: HttpExchange, signal?: AbortSignal): Promise<IncomingMessage> {
  const { deadlines: d } = p;
  const where = `${op} ${key} in ${p.url}`;
  const data = { url: p.url, key, op };
  const large = x.body !== undefined && !(Buffer.isBuffer(x.body) && x.body.length <= SMALL_BODY_BYTES);
  const total = startDeadline(large ? undefined : d.timeoutMs, () => new TimeoutError(`${where}: no answer within ${d.timeoutMs} ms`, data), signal, p.signal);
  const readOnly = x.method === 'GET' || x.method === 'HEAD';
  try {
    let href = x.href;
    let hops = 0;
    for (let attempt = 1; ; attempt++) {
      let res: IncomingMessage;
      try {
        const headers = new URL(href).origin === p.origin ? x.headers : withoutCredentials(x.headers);
        res = await sendOnce({ ...x, href, headers }, { agents: p.agents, connectMs: d.connectTimeoutMs, idleMs: d.idleTimeoutMs, signal: total.signal, what: where });
      } catch (err) {
        if (total.signal.aborted) throw abortReason(total.signal);
        const mapped = httpNetworkError(err, op, key, p.url);
        // A refused certificate is refused again: no retry.
        if (!readOnly || attempt >= d.attempts || !(mapped instanceof TransportError || mapped instanceof TimeoutError) || certificateErrorCode(err) !== undefined) throw mapped;
        await pause(retryDelayMs(attempt, undefined, Date.now()), total.signal);
        continue;
      }
      const status = res.statusCode ?? 0;
      if (readOnly && REDIRECT.has(status)) {
        discard(res);
        href = nextHop(res, href, p, op, key, hops++);
        attempt--;
        continue;
      }
      if (isRetryableStatus(status) && readOnly && attempt < d.attempts) {
        discard(res);
        const retryAfter = res.headers['retry-after'];
        await pause(retryDelayMs(attempt, typeof retryAfter === 'string' ? retryAfter : undefined, Date.now()), total.signal);
        continue;
      }
      return res;
    }
  } finally {
    total.clear();
  }
}

function withoutCredentials(headers: HttpExchange['headers']): HttpExchange['headers'] {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => {
    throw abortReason(signal);
  });
}
