import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { FleetPage } from './fleet-page.js';
import { pageCsp } from './page-assets.js';
import { fragmentTag, renderFleetDocument, renderFleetMain, type RefreshProblem } from './render-html.js';

/** How `flotilla serve` serves the fleet page. */
export interface FleetServerOptions {
  host: string;
  /** 0 picks a free port (see FleetServer.url). */
  port: number;
  /** Reads the page (repo and store). Called at most once at a time, and at most once per cacheMs. */
  load: () => Promise<FleetPage>;
  /** How long a read page is served before the next request reads again (default 1500 ms). */
  cacheMs?: number;
  /** How long a request waits for a read before it gets the last page with a warning, or 503 (default 20 s). */
  loadDeadlineMs?: number;
  /** How often the page in a browser asks for changes (default 3000 ms). */
  pollMs?: number;
  /** Open connections beyond this are refused by the kernel's backlog, not served (default 64). */
  maxConnections?: number;
  /** Told when a read fails (the page says so too). */
  onProblem?: (message: string) => void;
}

/** A running page server. */
export interface FleetServer {
  /** e.g. http://127.0.0.1:8080/ */
  url: string;
  close(): Promise<void>;
}

interface Shown {
  page: FleetPage;
  problem?: RefreshProblem;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1']);
const COMMON_HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY', 'cache-control': 'no-store' };

/** Host header values a loopback server answers: anything else is a DNS-rebinding page in someone's browser. */
function allowedHosts(host: string, port: number): Set<string> | null {
  const loopback = LOOPBACK.has(host) || host.startsWith('127.');
  if (!loopback) return null;
  return new Set([...LOOPBACK, host].map((h) => `${isIP(h) === 6 ? `[${h}]` : h}:${port}`));
}

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...COMMON_HEADERS, 'content-type': type, 'content-length': String(Buffer.byteLength(body)), ...extra });
  res.end(body);
}

/** What a failed read says on the page: the error's code and message (errors carry no secrets). */
function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  return `${typeof e.code === 'string' ? `${e.code}: ` : ''}${typeof e.message === 'string' ? e.message : String(err)}`;
}

/**
 * Serves the fleet page read-only: GET / (the page, polling for changes), /fragment (its <main>, with an ETag),
 * /fleet.json (the page model). Reads are single-flight and cached for cacheMs, so many viewers cost one read;
 * a failed read keeps the last page on show with the failure stated. Only GET and HEAD; requests must arrive
 * within 10 s (headers 5 s). On a loopback address only loopback Host headers are answered.
 * Fails like server.listen (EADDRINUSE, EACCES).
 */
export async function startFleetServer(o: FleetServerOptions): Promise<FleetServer> {
  const cacheMs = o.cacheMs ?? 1500;
  const deadlineMs = o.loadDeadlineMs ?? 20_000;
  const pollMs = o.pollMs ?? 3000;
  let good: FleetPage | undefined;
  let problem: RefreshProblem | undefined;
  let loadedAt = -Infinity;
  let inflight: Promise<void> | null = null;
  // Set again once the port is known (port 0); no request is handled before that.
  let hosts = allowedHosts(o.host, o.port);

  const refresh = (): Promise<void> =>
    (inflight ??= o
      .load()
      .then(
        (page) => {
          good = page;
          problem = undefined;
        },
        (err: unknown) => {
          problem = { message: describe(err) };
          o.onProblem?.(problem.message);
        },
      )
      .finally(() => {
        loadedAt = Date.now();
        inflight = null;
      }));

  async function shown(): Promise<Shown | RefreshProblem> {
    if (Date.now() - loadedAt >= cacheMs) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((done) => (timer = setTimeout(() => done('late'), deadlineMs)));
      const outcome = await Promise.race([refresh(), late]);
      clearTimeout(timer);
      if (outcome === 'late') return good ? { page: good, problem: { message: `reading the fleet took longer than ${deadlineMs} ms` } } : { message: `reading the fleet took longer than ${deadlineMs} ms` };
    }
    if (good === undefined) return problem ?? { message: 'the fleet has not been read yet' };
    return problem ? { page: good, problem } : { page: good };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'only GET and HEAD: this page is read-only\n', { allow: 'GET, HEAD' });
    if (hosts !== null && !hosts.has((req.headers.host ?? '').toLowerCase())) return send(res, 403, 'text/plain; charset=utf-8', 'unexpected Host header\n');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/' && path !== '/fragment' && path !== '/fleet.json') return send(res, 404, 'text/plain; charset=utf-8', 'not found: try / or /fleet.json\n');
    const s = await shown();
    if (!('page' in s)) {
      if (path === '/fleet.json') return send(res, 503, 'application/json', `${JSON.stringify({ ok: false, error: s.message })}\n`);
      return send(res, 503, 'text/plain; charset=utf-8', `could not read the fleet: ${s.message}\n`);
    }
    if (path === '/fleet.json') return send(res, 200, 'application/json', `${JSON.stringify(s.problem ? { ...s.page, problem: s.problem.message } : s.page)}\n`);
    if (path === '/fragment') {
      const body = renderFleetMain(s.page, s.problem);
      const tag = fragmentTag(body);
      if (req.headers['if-none-match'] === tag) {
        res.writeHead(304, { ...COMMON_HEADERS, etag: tag });
        return void res.end();
      }
      return send(res, 200, 'text/html; charset=utf-8', body, { etag: tag });
    }
    return send(res, 200, 'text/html; charset=utf-8', renderFleetDocument(s.page, { live: { intervalMs: pollMs }, ...(s.problem ? { problem: s.problem } : {}) }), { 'content-security-policy': pageCsp(true) });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${describe(err)}\n`);
      else res.destroy();
    });
  });
  server.maxConnections = o.maxConnections ?? 64;
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen({ host: o.host, port: o.port }, () => {
      server.off('error', fail);
      done();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : o.port;
  hosts = allowedHosts(o.host, port);
  return {
    url: `http://${isIP(o.host) === 6 ? `[${o.host}]` : o.host}:${port}/`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
