import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { FleetPage } from '../../src/fleet/fleet-page.js';
import { startFleetServer, type FleetServer, type FleetServerOptions } from '../../src/fleet/fleet-server.js';
import { failedRollout } from './fleet-page-fixture.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One real HTTP request (node:http, so the Host header can be anything). */
function get(url: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((done, fail) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {}, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 10 s')));
    req.on('error', fail);
    req.end();
  });
}

describe('the fleet page server', () => {
  let server: FleetServer | undefined;
  afterEach(async () => server?.close());
  const { page } = failedRollout();

  async function serve(over: Partial<FleetServerOptions> & Pick<FleetServerOptions, 'load'>): Promise<FleetServer> {
    server = await startFleetServer({ host: '127.0.0.1', port: 0, cacheMs: 60_000, ...over });
    return server;
  }

  it('reads the fleet once for many viewers at once (single flight, cached)', async () => {
    let loads = 0;
    const s = await serve({ load: () => (loads++, Promise.resolve(page)) });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => get(`${s.url}${i % 2 ? 'fleet.json' : ''}`)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(loads).toBe(1);
    expect((JSON.parse(answers[1]!.body) as FleetPage).sets[0]!.set).toBe('web');
  });

  it('serves the live page with its security headers, and a fragment that is 304 while unchanged', async () => {
    const s = await serve({ load: () => Promise.resolve(page) });
    const root = await get(s.url);
    expect(root.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(root.headers['content-security-policy']).toContain("default-src 'none'");
    expect(root.headers['x-content-type-options']).toBe('nosniff');
    expect(root.body).toContain('data-live="1"');
    const fragment = await get(`${s.url}fragment`);
    expect(fragment.status).toBe(200);
    const tag = fragment.headers['etag'] as string;
    expect(root.body).toContain(`data-etag="${tag.replace(/"/g, '&quot;')}"`);
    expect((await get(`${s.url}fragment`, { headers: { 'if-none-match': tag } })).status).toBe(304);
    expect((await get(`${s.url}nope`)).status).toBe(404);
  });

  it('is read-only: anything but GET and HEAD is 405 and reads nothing', async () => {
    let loads = 0;
    const s = await serve({ load: () => (loads++, Promise.resolve(page)) });
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const a = await get(s.url, { method });
      expect(a.status, method).toBe(405);
      expect(a.headers['allow']).toBe('GET, HEAD');
    }
    expect(loads).toBe(0);
    expect((await get(s.url, { method: 'HEAD' })).status).toBe(200);
  });

  it('on loopback answers only loopback Host names (a DNS-rebinding page gets 403)', async () => {
    const s = await serve({ load: () => Promise.resolve(page) });
    const port = new URL(s.url).port;
    expect((await get(s.url, { headers: { host: `evil.example:${port}` } })).status).toBe(403);
    expect((await get(s.url, { headers: { host: `localhost:${port}` } })).status).toBe(200);
    expect((await get(s.url, { headers: { host: `127.0.0.1:${port}` } })).status).toBe(200);
  });

  it('keeps the last page on show, saying so, when a read fails; 503 when there never was one', async () => {
    let fail = false;
    const s = await serve({ cacheMs: 0, load: () => (fail ? Promise.reject(Object.assign(new Error('the store did not answer'), { code: 'TimeoutError' })) : Promise.resolve(page)) });
    expect((await get(s.url)).status).toBe(200);
    fail = true;
    const stale = await get(`${s.url}fragment`);
    expect(stale.status).toBe(200);
    expect(stale.body).toContain('Could not refresh:</strong> TimeoutError: the store did not answer.');
    expect(JSON.parse((await get(`${s.url}fleet.json`)).body)).toMatchObject({ problem: 'TimeoutError: the store did not answer' });
    await server!.close();
    const never = await serve({ load: () => Promise.reject(new Error('no repo')) });
    const a = await get(never.url);
    expect(a.status).toBe(503);
    expect(a.body).toContain('could not read the fleet: no repo');
  });

  it('answers a request whose read outlives the deadline with 503 instead of hanging', async () => {
    const s = await serve({ loadDeadlineMs: 200, load: () => new Promise<FleetPage>(() => undefined) });
    const a = await get(`${s.url}fleet.json`);
    expect(a.status).toBe(503);
    expect(a.body).toContain('reading the fleet took longer than 200 ms');
  });
});
