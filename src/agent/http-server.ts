import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors/index.js';
import type { TriggerLog } from './cron-trigger.js';
import type { HealthzReport } from './healthz.js';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.js';
import type { RequestOutcome, TriggerReason } from './single-flight.js';
import { summarizePush, verifyWebhookSignature } from './webhook.js';

/** Default cap on a webhook body (GitHub caps payloads at 25 MB; pushes are far smaller). */
export const DEFAULT_MAX_WEBHOOK_BYTES = 1024 * 1024;

/** The webhook route's settings. Present only when the config turns the webhook on. */
export interface WebhookRoute {
  /** The shared HMAC secret (from a file or env in the config; never logged). */
  secret: string;
  maxBodyBytes?: number;
  request: (reason: TriggerReason) => Promise<RequestOutcome>;
}

/** What one listen address serves. Routes left out answer 404. */
export interface AgentHttpOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** GET /metrics: the registry's Prometheus text. */
  metrics?: { render(): string };
  /** GET /healthz: status and JSON body. */
  healthz?: () => HealthzReport;
  /** POST /hooks/git. */
  webhook?: WebhookRoute;
  log?: TriggerLog;
}

/** A running server: where it listens, and close() which stops it and ends open connections. */
export interface AgentHttpServer {
  host: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * Starts one node:http server on one address. POST /hooks/git reads the raw body (capped: 413 beyond),
 * verifies its HMAC-SHA256 signature (401 when missing or wrong, and no tick), then answers 202 and calls
 * `request('webhook')` without waiting for the tick (a signed GitHub "ping" gets 200 and no tick); with
 * `?wait=1` it answers 200 when the tick ends, with the tick's result (503 when the agent stops first).
 * GET /metrics and GET /healthz serve the agent's state. Throws ConfigError for an empty webhook secret;
 * rejects with the listen error (EADDRINUSE, EACCES).
 */
export async function startAgentHttpServer(options: AgentHttpOptions): Promise<AgentHttpServer> {
  if (options.webhook !== undefined && options.webhook.secret.length === 0) {
    throw new ConfigError('agent.http.webhook.secret is empty', { field: 'webhook.secret' });
  }
  const server = createServer((req, res) => {
    route(options, req, res).catch((err: unknown) => {
      options.log?.warn({ err: String(err), path: req.url }, 'http handler failed');
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  // Bound slow clients: headers within 10 s, the whole request within 30 s.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    host: options.host,
    port,
    url: `http://${hostForUrl}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function route(options: AgentHttpOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://agent').pathname;
  if (path === '/metrics' && options.metrics !== undefined) {
    if (!allow(req, res, 'GET')) return;
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
    res.end(req.method === 'HEAD' ? undefined : options.metrics.render());
    return;
  }
  if (path === '/healthz' && options.healthz !== undefined) {
    if (!allow(req, res, 'GET')) return;
    const report = options.healthz();
    send(res, report.status, report.body);
    return;
  }
  if (path === '/hooks/git' && options.webhook !== undefined) {
    if (!allow(req, res, 'POST')) return;
    await handleWebhook(options.webhook, options.log, req, res);
    return;
  }
  send(res, 404, { error: 'not found' });
}

async function handleWebhook(hook: WebhookRoute, log: TriggerLog | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const limit = hook.maxBodyBytes ?? DEFAULT_MAX_WEBHOOK_BYTES;
  const body = await readBody(req, limit);
  if (body === undefined) {
    res.setHeader('connection', 'close');
    send(res, 413, { error: `body larger than ${limit} bytes` });
    return;
  }
  const check = verifyWebhookSignature(req.headers, body, hook.secret);
  if (!check.ok) {
    log?.warn({ trigger: 'webhook', reason: check.reason, header: check.header }, 'webhook refused: bad signature');
    send(res, 401, { error: `signature ${check.reason}` });
    return;
  }
  const summary = summarizePush(req.headers, body);
  if (summary.event === 'ping') {
    send(res, 200, { ok: true, pong: true });
    return;
  }
  log?.debug({ trigger: 'webhook', styles: check.styles, ...summary }, 'webhook accepted');
  if (!wantsTickResult(req)) {
    send(res, 202, { ok: true, queued: true });
    void hook.request('webhook');
    return;
  }
  // The caller waits for the tick (fleet-wide "reconcile now" from CI): answer with its result.
  const outcome = await hook.request('webhook');
  if (!outcome.ran) return send(res, 503, { ok: false, error: 'the agent is stopping; no tick was run' });
  if (!outcome.ok) return send(res, 500, { ok: false, error: outcome.error instanceof Error ? outcome.error.message : String(outcome.error) });
  send(res, 200, { ok: true, tick: outcome.value });
}

/** `?wait=1` (or `X-Flotilla-Wait: 1`): answer when the tick ends, with its result, instead of 202 at once. */
function wantsTickResult(req: IncomingMessage): boolean {
  const wait = new URL(req.url ?? '/', 'http://agent').searchParams.get('wait') ?? req.headers['x-flotilla-wait'];
  return wait === '1' || wait === 'true';
}

/** Reads the raw body up to `limit` bytes; undefined (the rest left unread) when it is larger. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        // Content-Length lied or was absent (chunked): stop reading; the 413 closes the connection.
        cleanup();
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function allow(req: IncomingMessage, res: ServerResponse, method: 'GET' | 'POST'): boolean {
  if (req.method === method || (method === 'GET' && req.method === 'HEAD')) return true;
  res.setHeader('allow', method === 'GET' ? 'GET, HEAD' : 'POST');
  send(res, 405, { error: 'method not allowed' });
  return false;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
