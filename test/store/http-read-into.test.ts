// The pack reader's own HTTP GET (src/store/http-read-into.ts) against real loopback servers: a node:net
// server that writes exact bytes (heads, cuts, stalls, extra bytes), so every rule of the reader is seen on
// a real socket.
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { plainContentLength, readInto, type ReadIntoOptions } from '../../src/store/http-read-into.js';

type Handler = (socket: Socket, request: string) => void | Promise<void>;

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

/** A server that reads one request head and hands the socket to `handle`. */
async function serve(handle: Handler): Promise<string> {
  const server = createServer((socket) => {
    let got = '';
    socket.on('error', () => undefined);
    socket.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) void handle(socket, got);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/objects/x`;
}

const ok = (length: number): string => `HTTP/1.1 200 OK\r\nContent-Length: ${length}\r\n\r\n`;

function options(size: number, more: Partial<ReadIntoOptions> = {}): ReadIntoOptions {
  return { size, headers: { authorization: 'Bearer t' }, connectMs: 2000, idleMs: 2000, signal: new AbortController().signal, what: 'get objects/x in test', ...more };
}

/** Collects what is consumed, copying each view only after an await (so a view overwritten early shows). */
function collector(delayMs = 0): { consume: (v: Buffer) => Promise<void>; bytes: () => Buffer; calls: () => number } {
  const parts: Buffer[] = [];
  return {
    consume: async (v) => {
      if (delayMs > 0) await sleep(delayMs);
      else await Promise.resolve();
      parts.push(Buffer.from(v));
    },
    bytes: () => Buffer.concat(parts),
    calls: () => parts.length,
  };
}

/** The error `p` rejects with (the test fails if it resolves). */
async function failure(p: Promise<unknown>): Promise<Error> {
  const r = await p.then(
    (v) => ({ resolved: v }),
    (err: unknown) => ({ err }),
  );
  if (!('err' in r)) throw new Error(`resolved ${String(r.resolved)} instead of failing`);
  return r.err as Error;
}

describe('plainContentLength: only the plain 200 with one length is taken', () => {
  it('reads the length of a 200, and of repeats that agree', () => {
    expect(plainContentLength('HTTP/1.1 200 OK\r\nContent-Length: 12\r\nETag: "a"')).toBe(12);
    expect(plainContentLength('HTTP/1.0 200\r\ncontent-length:12\r\nContent-Length: 12')).toBe(12);
  });
  it('leaves every other head to the general client', () => {
    for (const head of [
      'HTTP/1.1 302 Found\r\nLocation: /y\r\nContent-Length: 0',
      'HTTP/1.1 404 Not Found\r\nContent-Length: 12',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked',
      'HTTP/1.1 200 OK\r\nContent-Length: 12\r\nTransfer-Encoding: chunked',
      'HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Length: 13',
      'HTTP/1.1 200 OK\r\nContent-Length: -1',
      'HTTP/1.1 200 OK\r\nContent-Length: 1e3',
      'HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 12',
      'HTTP/1.1 200 OK',
      'HTTP/2 200\r\nContent-Length: 12',
    ]) {
      expect(plainContentLength(head), head).toBeUndefined();
    }
  });
});

describe('readInto: a GET whose body comes as views of one reused buffer', () => {
  it('streams the body exactly, pausing the socket while a view is in use (a slow consumer still sees every byte right)', async () => {
    const body = randomBytes(24 * 1024 * 1024);
    let request = '';
    const url = await serve((s, req) => {
      request = req;
      s.write(ok(body.length));
      s.end(body);
    });
    const c = collector(1);
    await expect(readInto(url, options(body.length), c.consume)).resolves.toBe('done');
    expect(c.bytes().equals(body)).toBe(true);
    // More than one read (of 1 MiB at most), all into the same buffer: without the pause, the copies made after the await would differ.
    expect(c.calls()).toBeGreaterThan(10);
    expect(request).toMatch(/^GET \/objects\/x HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\nauthorization: Bearer t\r\nConnection: close\r\n\r\n$/);
  });

  it('a body whose first bytes share the head\'s read arrives whole', async () => {
    const body = Buffer.from('abcdefgh');
    const url = await serve((s) => void s.end(Buffer.concat([Buffer.from(ok(body.length)), body])));
    const c = collector();
    await expect(readInto(url, options(body.length), c.consume)).resolves.toBe('done');
    expect(c.bytes().toString()).toBe('abcdefgh');
  });

  it('is unsupported, having consumed nothing, for an error status, a redirect, chunked, another length, a refused connection', async () => {
    const heads = [
      'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1:1/x\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nabcdefgh\r\n0\r\n\r\n',
      `${ok(7)}abcdefg`,
    ];
    for (const head of heads) {
      const url = await serve((s) => void s.end(head));
      const c = collector();
      await expect(readInto(url, options(8), c.consume), head).resolves.toBe('unsupported');
      expect(c.calls()).toBe(0);
    }
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(readInto(`http://127.0.0.1:${port}/x`, options(8), collector().consume)).resolves.toBe('unsupported');
  });

  it('a head that does not end is left to the general client past 16 KiB: the reader hangs up, it does not read on', async () => {
    let sent = 0;
    const url = await serve((s) => {
      s.write('HTTP/1.1 200 OK\r\n');
      // A line every millisecond, never silent, up to 1 MiB of head; stops once the client has hung up.
      const pad = (): void => {
        if (s.destroyed || s.writableEnded) return;
        if (sent >= 1024 * 1024) return void s.end();
        sent += 1000;
        s.write(`X-Pad: ${'a'.repeat(990)}\r\n`);
        setTimeout(pad, 1);
      };
      s.on('close', () => s.destroy());
      pad();
    });
    const c = collector();
    await expect(readInto(url, options(10), c.consume)).resolves.toBe('unsupported');
    expect(c.calls()).toBe(0);
    expect(sent).toBeLessThan(256 * 1024);
  });

  it('a connection cut in the body is a TransportError saying how far it got', async () => {
    const url = await serve((s) => {
      s.write(ok(1000));
      s.write(Buffer.alloc(400, 1));
      setTimeout(() => s.destroy(), 50);
    });
    const err = await failure(readInto(url, options(1000), collector().consume));
    expect(err).toMatchObject({ code: 'TransportError' });
    expect(err.message).toMatch(/400 of 1000 bytes|closed/);
  });

  it('bytes past the Content-Length are a TransportError once the body has begun (before it, the general client decides)', async () => {
    const url = await serve((s) => {
      s.write(`${ok(4)}ab`);
      setTimeout(() => s.end('cdefgh'), 50);
    });
    const err = await failure(readInto(url, options(4), collector().consume));
    expect(err).toMatchObject({ code: 'TransportError' });
    expect(err.message).toContain('longer than its Content-Length');
    const sameRead = await serve((s) => void s.end(`${ok(4)}abcdefgh`));
    const c = collector();
    await expect(readInto(sameRead, options(4), c.consume)).resolves.toBe('unsupported');
    expect(c.calls()).toBe(0);
  });

  it('a body that stalls is a TimeoutError after idleMs, not before', async () => {
    const url = await serve((s) => void s.write(`${ok(100)}abc`));
    const t0 = performance.now();
    await expect(readInto(url, options(100, { idleMs: 300 }), collector().consume)).rejects.toMatchObject({ code: 'TimeoutError' });
    // A lower bound (the deadline is never early), with a few ms for the timers' rounding.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
  });

  it('a body that trickles, each byte within idleMs of the one before, is read to its end however long it takes', async () => {
    const url = await serve((s) => {
      s.write(ok(8));
      let sent = 0;
      const next = (): void => {
        s.write('x');
        if (++sent < 8) setTimeout(next, 70);
        else s.end();
      };
      next();
    });
    const c = collector();
    // ~500 ms in all, against an idle deadline of 200 ms.
    await expect(readInto(url, options(8, { idleMs: 200 }), c.consume)).resolves.toBe('done');
    expect(c.bytes().toString()).toBe('xxxxxxxx');
  });

  it('a consumer done with each view at once (no promise) is fed read after read; what it throws is the error, and the connection closes', async () => {
    const body = randomBytes(24 * 1024 * 1024);
    const url = await serve((s) => {
      s.write(ok(body.length));
      s.end(body);
    });
    const parts: Buffer[] = [];
    const copyNow = (v: Buffer): undefined => void parts.push(Buffer.from(v));
    await expect(readInto(url, options(body.length), copyNow)).resolves.toBe('done');
    expect(Buffer.concat(parts).equals(body)).toBe(true);
    expect(parts.length).toBeGreaterThan(10);

    let closed!: Promise<void>;
    const url2 = await serve((s) => {
      closed = new Promise((r) => s.on('close', () => r()));
      s.write(ok(body.length));
      s.write(body.subarray(0, 4 * 1024 * 1024));
    });
    const bad = new Error('the consumer refuses at once');
    let calls = 0;
    const refuseSecond = (): undefined => {
      if (++calls === 2) throw bad;
      return undefined;
    };
    await expect(readInto(url2, options(body.length), refuseSecond)).rejects.toBe(bad);
    expect(calls).toBe(2);
    await closed;
  });

  it('an abort in the body rejects with its reason; a consumer\'s error is the error', async () => {
    const url = await serve((s) => void s.write(`${ok(100)}abc`));
    const ctl = new AbortController();
    const why = new Error('stopped by the test');
    const p = readInto(url, options(100, { signal: ctl.signal }), collector().consume);
    setTimeout(() => ctl.abort(why), 100);
    await expect(p).rejects.toBe(why);
    const url2 = await serve((s) => void s.end(`${ok(3)}abc`));
    const bad = new Error('the consumer refuses');
    await expect(readInto(url2, options(3), () => Promise.reject(bad))).rejects.toBe(bad);
  });

  it('refuses a header value that would split the request', () => {
    expect(() => readInto('http://127.0.0.1:1/x', options(1, { headers: { authorization: 'a\r\nX: y' } }), collector().consume)).toThrow(/malformed/);
  });
});
