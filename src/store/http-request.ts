import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TimeoutError } from '../errors/index.js';

/** One HTTP exchange to send. `body` is sent once: a stream cannot be replayed by a retry or a redirect. */
export interface HttpExchange {
  method: 'GET' | 'HEAD' | 'PUT' | 'DELETE';
  href: string;
  headers: OutgoingHttpHeaders;
  body?: Buffer | Readable;
}

/** Keep-alive socket pools for one store (closed with the store). */
export interface HttpAgents {
  readonly http: HttpAgent;
  /** Made on first use (see loadHttps). */
  readonly https: HttpsAgent;
  /** Destroys both pools' sockets (the https one only if it was made). */
  destroy(): void;
}

/**
 * node:https, loaded on the first https:// request: it brings TLS with it (several ms of module loading),
 * which a plain-HTTP store, and a one-shot `flotilla fetch` that finds everything in place, never need.
 */
function loadHttps(): typeof import('node:https') {
  return process.getBuiltinModule('node:https');
}

/** Socket pools bounding one store's concurrent requests. */
export function createHttpAgents(maxSockets = 32): HttpAgents {
  const http = new HttpAgent({ keepAlive: true, maxSockets });
  let https: HttpsAgent | undefined;
  return {
    http,
    get https() {
      return (https ??= new (loadHttps().Agent)({ keepAlive: true, maxSockets }));
    },
    destroy() {
      http.destroy();
      https?.destroy();
    },
  };
}

/**
 * Sends one request (no retry, no redirect) and resolves with the response once its headers arrive; the
 * body is the caller's to read or destroy. Fails with TimeoutError (`what` named) when the connection is not
 * up within `connectMs` or the socket is silent for `idleMs` at any point, and with the node error on a
 * refused or reset connection. `signal` aborts it at any point, the response body included.
 */
export function sendOnce(x: HttpExchange, o: { agents: HttpAgents; connectMs: number; idleMs: number; signal: AbortSignal; what: string }): Promise<IncomingMessage> {
  const https = x.href.startsWith('https:');
  return new Promise((resolve, reject) => {
    const req = (https ? loadHttps().request : httpRequest)(x.href, {
      method: x.method,
      headers: x.headers,
      agent: https ? o.agents.https : o.agents.http,
      signal: o.signal,
    });
    req.once('socket', (socket) => {
      // A reused keep-alive socket is already connected; only a fresh one has a connect phase.
      if (!socket.connecting) return;
      const timer = setTimeout(() => req.destroy(new TimeoutError(`${o.what}: no connection in ${o.connectMs} ms`, { what: o.what })), o.connectMs);
      socket.once(https ? 'secureConnect' : 'connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    let response: IncomingMessage | undefined;
    req.setTimeout(o.idleMs, () => {
      const err = new TimeoutError(`${o.what}: no data for ${o.idleMs} ms`, { what: o.what });
      // Silent in the body: the body's reader must see the deadline, not the "aborted" reset that destroying
      // the request alone makes the response emit.
      response?.destroy(err);
      req.destroy(err);
    });
    req.once('error', reject);
    req.once('response', (res: IncomingMessage) => {
      response = res;
      resolve(res);
    });
    if (x.body === undefined) req.end();
    else if (Buffer.isBuffer(x.body)) req.end(x.body);
    else pipeline(x.body, req).catch((err: unknown) => req.destroy(err as Error));
  });
}
