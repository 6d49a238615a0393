import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createHttpStore } from '../../src/store/http-store.js';
import { MAX_RETRY_AFTER_MS, isRetryableStatus, retryDelayMs } from '../../src/util/retry-delay.js';

const NOW = Date.parse('2026-12-02T12:00:00Z');

describe('retryDelayMs', () => {
  it.each([
    ['Retry-After in seconds', '2', 2000],
    ['Retry-After of 0', '0', 0],
    ['an HTTP date 3 s ahead', new Date(NOW + 3000).toUTCString(), 3000],
    ['an HTTP date in the past', new Date(NOW - 3000).toUTCString(), 0],
    ['a wait longer than the cap', '3600', MAX_RETRY_AFTER_MS],
  ])('obeys %s', (_, header, want) => {
    expect(retryDelayMs(1, header, NOW)).toBe(want);
  });

  it('backs off exponentially with jitter when the server says nothing (or nonsense)', () => {
    expect(retryDelayMs(1, undefined, NOW, () => 0)).toBe(100);
    expect(retryDelayMs(3, undefined, NOW, () => 0.5)).toBe(800);
    expect(retryDelayMs(3, 'soon', NOW, () => 0.999)).toBe(Math.round(800 * 1.499));
  });

  it('retries throttling (429) and server errors, nothing else', () => {
    expect([429, 500, 503].every(isRetryableStatus)).toBe(true);
    expect([400, 403, 404, 412].some(isRetryableStatus)).toBe(false);
  });
});

describe('an HTTP store that is throttled', () => {
  it('retries a read answered 429 and gets it', async () => {
    let calls = 0;
    const server: Server = createServer((_req, res) => {
      calls++;
      if (calls === 1) res.writeHead(429, { 'retry-after': '0' }).end();
      else res.writeHead(200, { 'content-length': '2' }).end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const s = createHttpStore({ base: url, url, deadlines: { attempts: 3 } });
      expect((await s.getBytes('k', { maxBytes: 10 })).toString()).toBe('ok');
      expect(calls).toBe(2);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
