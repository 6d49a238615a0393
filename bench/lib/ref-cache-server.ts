// A caching front for the loopback git server (git http-backend, one CGI process per request). A fleet of
// agents polling every second asks the same two questions (the v2 capability advertisement and ls-refs)
// ~100 times a second; spawning http-backend for each saturates a small machine long before the agents
// do, which would measure the test server instead of Flotilla. Real forges answer these from memory.
// Only those two idempotent answers are cached, keyed by the exact request, and dropped on every push
// (`invalidate()`); fetches (command=fetch) always go to http-backend.
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running caching front: `url` replaces the backend's URL (same paths). */
export interface RefCacheServer {
  url: string;
  /** Forget every cached answer (call after each push to the served repo). */
  invalidate(): void;
  stats(): { hits: number; misses: number; passed: number };
  close(): Promise<void>;
}

interface Cached {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function forward(backend: URL, req: IncomingMessage, body: Buffer): Promise<Cached> {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers, host: backend.host, 'content-length': String(body.length) };
    delete headers['transfer-encoding'];
    const r = request({ host: backend.hostname, port: backend.port, method: req.method, path: req.url, headers }, (res) => {
      void readAll(res).then((b) => {
        const h: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && k !== 'transfer-encoding' && k !== 'connection') h[k] = v;
        h['content-length'] = String(b.length);
        resolve({ status: res.statusCode ?? 502, headers: h, body: b });
      }, reject);
    });
    r.on('error', reject);
    r.end(body);
  });
}

function cacheable(req: IncomingMessage, body: Buffer): boolean {
  const url = req.url ?? '';
  if (req.method === 'GET' && url.includes('/info/refs')) return true;
  // A v2 ls-refs request is a pkt-line stream starting with "command=ls-refs" (gzip would hide it: not cached).
  return req.method === 'POST' && url.endsWith('/git-upload-pack') && req.headers['content-encoding'] === undefined && body.subarray(0, 64).toString('latin1').includes('command=ls-refs');
}

/** Starts the front on 127.0.0.1 before the backend at `backendUrl` (no trailing slash). */
export async function startRefCacheServer(backendUrl: string): Promise<RefCacheServer> {
  const backend = new URL(backendUrl);
  const cache = new Map<string, Cached>();
  let hits = 0;
  let misses = 0;
  let passed = 0;
  // Bumped by invalidate(): an answer fetched across a push may be stale and must not be kept.
  let epoch = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readAll(req);
    const key = cacheable(req, body)
      ? createHash('sha256').update(`${req.method} ${req.url} ${String(req.headers['git-protocol'] ?? '')}\n`).update(body).digest('hex')
      : undefined;
    let answer = key === undefined ? undefined : cache.get(key);
    if (answer) hits++;
    else {
      const asked = epoch;
      answer = await forward(backend, req, body);
      if (key === undefined) passed++;
      else {
        misses++;
        if (answer.status === 200 && asked === epoch) cache.set(key, answer);
      }
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`ref cache: ${(err as Error).message}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${backend.pathname.replace(/\/$/, '')}`,
    invalidate: () => {
      epoch++;
      cache.clear();
    },
    stats: () => ({ hits, misses, passed }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
