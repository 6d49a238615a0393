import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors/index.js';
import { createHttpStore } from '../../src/store/http-store.js';
import { openStore } from '../../src/store/open-store.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';

async function serve(handler: RequestListener): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}
async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}
const errorOf = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);

describe('HTTP store', () => {
  let dir: string;
  let srv: HttpStoreServer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-http-faults-'));
    srv = await startHttpStoreServer(dir, { writable: true });
  });
  afterAll(async () => {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes and deletes when opened writable, and the directory store behind it sees the same etag', async () => {
    const s = openStore(`${srv.url}?writable=1`);
    const { etag } = await s.put('w/a', Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    expect((await openStore(dir).head('w/a')).etag).toBe(etag);
    expect((await s.getBytes('w/a', { maxBytes: 100 })).toString()).toBe('hello world');
    await s.delete('w/a');
    await s.delete('w/a');
    expect(s.isNotFound(await errorOf(s.head('w/a')))).toBe(true);
  });

  it('refuses writes when read-only and every conditional write always, naming why', async () => {
    const ro = openStore(srv.url);
    const e1 = await errorOf(ro.put('w/b', Buffer.from('x')));
    expect(hasCode(e1, 'UnsupportedOperationError') && (e1 as Error).message).toMatch(/read-only/);
    expect(hasCode(await errorOf(ro.delete('w/b')), 'UnsupportedOperationError')).toBe(true);
    const rw = openStore(srv.url, { writable: true });
    const e2 = await errorOf(rw.put('w/b', Buffer.from('x'), { ifNoneMatch: '*' }));
    expect((e2 as Error).message).toMatch(/cannot coordinate rollouts; use a directory or S3 store/);
    expect(hasCode(await errorOf(rw.put('w/b', Buffer.from('x'), { ifMatch: 'e' })), 'UnsupportedOperationError')).toBe(true);
    expect(hasCode(await errorOf(rw.list('w/')), 'UnsupportedOperationError')).toBe(true);
  });

  it('caps an endless body by counting bytes, whatever the headers say', async () => {
    const { url, server } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }); // chunked, no length
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = (): void => {
        while (res.write(chunk));
        res.once('drain', pump);
      };
      pump();
    });
    try {
      const s = createHttpStore({ base: url, url });
      expect(hasCode(await errorOf(s.getBytes('endless', { maxBytes: 1_000_000 })), 'SizeLimitError')).toBe(true);
    } finally {
      await stop(server);
    }
  });

  it('times out a body that stalls, and a server that never answers', async () => {
    const { url, server } = await serve((req, res) => {
      if (req.url === '/silent') return; // never answers
      res.writeHead(200, { 'content-length': '1000' });
      res.write(Buffer.alloc(10)); // then stalls
    });
    try {
      const s = createHttpStore({ base: url, url, deadlines: { idleTimeoutMs: 200, timeoutMs: 300, attempts: 1 } });
      expect(hasCode(await errorOf(s.getBytes('stall', { maxBytes: 2000 })), 'TimeoutError')).toBe(true);
      expect(hasCode(await errorOf(s.head('silent')), 'TimeoutError')).toBe(true);
    } finally {
      await stop(server);
    }
  });

  it('retries 5xx on reads with backoff, then gives up with TransportError', async () => {
    let calls = 0;
    const { url, server } = await serve((req, res) => {
      calls++;
      if (req.url === '/flaky' && calls % 3 !== 0) res.writeHead(503).end();
      else if (req.url === '/flaky') res.writeHead(200, { 'content-length': '2' }).end('ok');
      else res.writeHead(500).end();
    });
    try {
      const s = createHttpStore({ base: url, url, deadlines: { attempts: 3 } });
      expect((await s.getBytes('flaky', { maxBytes: 10 })).toString()).toBe('ok');
      calls = 0;
      const err = await errorOf(s.head('broken'));
      expect(hasCode(err, 'TransportError')).toBe(true);
      expect(calls).toBe(3);
    } finally {
      await stop(server);
    }
  });

  it('sends URL credentials as Basic auth and never prints them', async () => {
    let auth: string | undefined;
    const { url, server } = await serve((req, res) => {
      auth = req.headers.authorization;
      res.writeHead(404).end();
    });
    try {
      const s = openStore(url.replace('http://', 'http://robot:s3cret@'));
      const err = await errorOf(s.head('x'));
      expect(s.isNotFound(err)).toBe(true);
      expect(auth).toBe(`Basic ${Buffer.from('robot:s3cret').toString('base64')}`);
      expect(`${(err as Error).message} ${s.url}`).not.toContain('s3cret');
    } finally {
      await stop(server);
    }
  });

  it('sends explicit credentials (bearer, or basic over URL ones) and never prints them', async () => {
    const seen: Array<string | undefined> = [];
    const { url, server } = await serve((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(404).end();
    });
    try {
      const bearer = openStore(url, { credentials: { kind: 'bearer', token: 'tok-123' } });
      const basic = openStore(url.replace('http://', 'http://ignored:ignored@'), { credentials: { kind: 'basic', username: 'robot', password: 's3cret' } });
      const err = await errorOf(bearer.head('x'));
      await errorOf(basic.head('x'));
      expect(seen).toEqual(['Bearer tok-123', `Basic ${Buffer.from('robot:s3cret').toString('base64')}`]);
      expect(`${(err as Error).message} ${bearer.url}`).not.toContain('tok-123');
    } finally {
      await stop(server);
    }
  });
});
