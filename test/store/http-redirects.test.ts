import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors/index.js';
import { MAX_REDIRECTS } from '../../src/store/http-send.js';
import { openStore } from '../../src/store/open-store.js';

const errorOf = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);
const servers: Server[] = [];

/** A real HTTP server on its own port: two of them are two origins. */
async function serve(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An origin that serves `body` for every path and records the headers it saw. */
async function content(body: string): Promise<{ origin: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const origin = await serve((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
  });
  return { origin, seen };
}

/** An origin that redirects /store/KEY to `to(KEY)` and records the headers it saw. */
async function redirector(to: (path: string) => string, status = 302): Promise<{ origin: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const origin = await serve((req, res) => {
    seen.push(req.headers);
    if (req.url?.startsWith('/moved/')) res.writeHead(200, { 'content-length': 4 }).end('here');
    else res.writeHead(status, { location: to(req.url ?? '/') }).end();
  });
  return { origin, seen };
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

describe('HTTP store redirects', () => {
  it('follows a same-origin redirect, with credentials', async () => {
    const r = await redirector((p) => p.replace('/store/', '/moved/'), 307);
    const s = openStore(`${r.origin}/store/`, { credentials: { kind: 'bearer', token: 't0k' } });
    expect((await s.getBytes('objects/a', { maxBytes: 10 })).toString()).toBe('here');
    expect(r.seen.map((h) => h.authorization)).toEqual(['Bearer t0k', 'Bearer t0k']);
  });

  it('refuses a redirect to another origin by default, naming it and the option that allows it', async () => {
    const other = await content('elsewhere');
    const r = await redirector((p) => `${other.origin}${p}`);
    const err = await errorOf(openStore(`${r.origin}/store/`).getBytes('objects/a', { maxBytes: 100 }));
    expect(hasCode(err, 'ConfigError')).toBe(true);
    expect((err as Error).message).toContain(`allowRedirectTo=${other.origin}`);
    expect((err as Error).message).toContain('objects/a');
    expect(other.seen).toHaveLength(0);
  });

  it('follows a redirect to an allowed origin, never with the Authorization header', async () => {
    const other = await content('from the cdn');
    const r = await redirector((p) => `${other.origin}${p}`);
    const s = openStore(`${r.origin}/store/?allowRedirectTo=${encodeURIComponent(other.origin)}`, { credentials: { kind: 'basic', username: 'u', password: 'hunter2' } });
    expect((await s.getBytes('objects/a', { maxBytes: 100 })).toString()).toBe('from the cdn');
    expect(r.seen[0]?.authorization).toMatch(/^Basic /);
    expect(other.seen).toHaveLength(1);
    expect(other.seen[0]?.authorization).toBeUndefined();
  });

  it(`gives up after ${MAX_REDIRECTS} redirects with TransportError`, async () => {
    const r = await redirector((p) => `${p}x`);
    const err = await errorOf(openStore(`${r.origin}/store/`).head('objects/loop'));
    expect(hasCode(err, 'TransportError')).toBe(true);
    expect((err as Error).message).toMatch(/more than 5 redirects/);
    expect(r.seen).toHaveLength(MAX_REDIRECTS + 1);
  });

  it('never redirects a write: the 3xx is the answer', async () => {
    const other = await content('x');
    const r = await redirector((p) => `${other.origin}${p}`, 307);
    const s = openStore(`${r.origin}/store/?writable=1&allowRedirectTo=${encodeURIComponent(other.origin)}`);
    const err = await errorOf(s.put('objects/w', Buffer.from('body')));
    expect(hasCode(err, 'TransportError')).toBe(true);
    expect(other.seen).toHaveLength(0);
  });
});
