// A loopback HTTP proxy that counts every request passing to one server, by a kind the caller derives from the
// method, path, query, headers and the first bytes of the body (S3: GET/HEAD/PUT/LIST/DELETE; git: info/refs,
// ls-refs, fetch), with the time it arrived and the bytes both ways. The scale-real benchmark puts one before
// Ceph RGW and one before the git bridge, as the measurements did.
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request seen. */
export interface SeenRequest {
  atMs: number;
  kind: string;
  bytesOut: number;
  bytesIn: number;
}

/** A running proxy: `url` replaces the server's (same paths). */
export interface CountingProxy {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/** How a request is named for counting; `head` is up to the first 64 bytes of its body. */
export type Classify = (req: IncomingMessage, head: Buffer) => string;

/**
 * S3 request kinds as billed (a GET on the bucket is a LIST), with the key's first segment (path-style URLs:
 * /BUCKET/status/…; a LIST's prefix): "GET status", "PUT leases", "LIST objects".
 */
export function classifyS3(req: IncomingMessage): string {
  const url = new URL(req.url ?? '/', 'http://x');
  const method = req.method ?? 'GET';
  const parts = url.pathname.split('/').filter((s) => s !== '');
  const isList = method === 'GET' && (url.searchParams.has('list-type') || parts.length <= 1);
  const area = isList ? (url.searchParams.get('prefix') ?? '').split('/')[0] : decodeURIComponent(parts[1] ?? '');
  if (isList) return `LIST ${area}`;
  if (method === 'POST' && url.searchParams.has('delete')) return 'DELETE batch';
  return `${method} ${area}`;
}

/** Git smart-HTTP request kinds: the advertisement (v2 capabilities or the v0/v1 ref list), ls-refs, fetch. */
export function classifyGit(req: IncomingMessage, head: Buffer): string {
  const url = req.url ?? '';
  const v2 = String(req.headers['git-protocol'] ?? '').includes('version=2');
  if (req.method === 'GET' && url.includes('/info/refs')) return v2 ? 'info/refs v2' : 'info/refs v1';
  if (req.method === 'POST' && url.endsWith('/git-upload-pack')) return head.toString('latin1').includes('command=ls-refs') ? 'ls-refs' : 'upload-pack';
  return `${req.method ?? 'GET'} other`;
}

/** Starts the proxy on 127.0.0.1 before `target` (http://HOST:PORT, any path is kept from the request). */
export async function startCountingProxy(target: string, classify: Classify): Promise<CountingProxy> {
  const to = new URL(target);
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const entry: SeenRequest = { atMs: Date.now(), kind: classify(req, body.subarray(0, 64)), bytesOut: body.length, bytesIn: 0 };
      seen.push(entry);
      // Headers go unchanged, Host included: S3 signatures (SigV4) cover it.
      const up = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.on('data', (c: Buffer) => (entry.bytesIn += c.length));
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** Counts of `seen` by kind between `fromMs` and `toMs` (epoch ms). */
export function countByKind(seen: readonly SeenRequest[], fromMs: number, toMs: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of seen) if (s.atMs >= fromMs && s.atMs < toMs) out.set(s.kind, (out.get(s.kind) ?? 0) + 1);
  return out;
}
