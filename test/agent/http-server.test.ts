import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgentMetrics } from '../../src/agent/agent-metrics.js';
import { reportHealthz } from '../../src/agent/healthz.js';
import { startAgentHttpServer, type AgentHttpServer } from '../../src/agent/http-server.js';
import { createSingleFlight } from '../../src/agent/single-flight.js';
import { ConfigError } from '../../src/errors/index.js';

const SECRET = 'a-webhook-secret-of-decent-length';
const PUSH = JSON.stringify({ ref: 'refs/heads/main', after: 'f'.repeat(40), repository: { full_name: 'ops/deploy' } });
const hmac = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');

let servers: AgentHttpServer[] = [];
afterEach(async () => {
  for (const s of servers) await s.close();
  servers = [];
});

/** An agent HTTP server over a real single-flight queue whose tick only records that it started. */
async function startAgent(withWebhook = true) {
  const started: Array<{ reasons: readonly string[]; at: number }> = [];
  const queue = createSingleFlight((reasons) => {
    started.push({ reasons, at: performance.now() });
    return Promise.resolve();
  });
  const metrics = createAgentMetrics();
  metrics.recordTick({ startedAtMs: 1_700_000_000_000, finishedAtMs: 1_700_000_000_250, result: 'converged' });
  metrics.setCurrentGeneration('web', 7, `sha256:${'ab'.repeat(32)}`);
  metrics.setBadDigests('web', [`sha256:${'cd'.repeat(32)}`]);
  metrics.addFetchedBytes(12345);
  metrics.observeStep('fetch', 0.042);
  metrics.observeStep('switch', 0.0009);
  const server = await startAgentHttpServer({
    host: '127.0.0.1',
    port: 0,
    metrics: metrics.registry,
    healthz: () => reportHealthz(queue.state(), Date.now()),
    ...(withWebhook ? { webhook: { secret: SECRET, maxBodyBytes: 4096, request: (reason) => queue.request(reason) } } : {}),
  });
  servers.push(server);
  return { server, started, queue };
}

async function post(url: string, body: string, headers: Record<string, string>) {
  const res = await fetch(`${url}/hooks/git`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, body: await res.text() };
}

describe('webhook', () => {
  it('refuses a bad, malformed or missing signature with 401 and starts no tick', async () => {
    const { server, started } = await startAgent();
    const cases: Array<Record<string, string>> = [
      { 'x-hub-signature-256': `sha256=${hmac(PUSH, 'wrong-secret')}` },
      { 'x-gitea-signature': hmac(`${PUSH} `) },
      { 'x-hub-signature-256': hmac(PUSH) }, // GitHub style without the sha256= prefix
      { 'x-flotilla-signature': 'sha256=zz' },
      { 'x-hub-signature-256': `sha256=${hmac(PUSH)}`, 'x-gitea-signature': hmac(PUSH, 'other') },
      {},
    ];
    for (const headers of cases) expect([headers, (await post(server.url, PUSH, headers)).status]).toEqual([headers, 401]);
    expect(started).toEqual([]);
  });

  it('a GitHub-signed push answers 202 and starts a tick', async () => {
    const { server, started } = await startAgent();
    const t0 = performance.now();
    const res = await post(server.url, PUSH, { 'x-hub-signature-256': `sha256=${hmac(PUSH)}`, 'x-github-event': 'push' });
    expect(res.status).toBe(202);
    expect(started).toHaveLength(1);
    expect(started[0]!.reasons).toEqual(['webhook']);
    console.log(`webhook → tick started after ${(started[0]!.at - t0).toFixed(1)} ms`);
  });

  it('Gitea-style and generic signatures start a tick too; a signed ping does not', async () => {
    const { server, started, queue } = await startAgent();
    expect((await post(server.url, PUSH, { 'x-gitea-signature': hmac(PUSH), 'x-gitea-event': 'push' })).status).toBe(202);
    await queue.request('drain-helper');
    expect((await post(server.url, PUSH, { 'x-flotilla-signature': `sha256=${hmac(PUSH).toUpperCase()}` })).status).toBe(202);
    expect(started.filter((s) => s.reasons.includes('webhook')).length).toBeGreaterThanOrEqual(2);
    const before = started.length;
    const ping = await post(server.url, '{"zen":"hi"}', { 'x-hub-signature-256': `sha256=${hmac('{"zen":"hi"}')}`, 'x-github-event': 'ping' });
    expect(ping.status).toBe(200);
    expect(started.length).toBe(before);
  });

  it('caps the body: a declared or streamed body over the limit gets 413 and no tick', async () => {
    const { server, started } = await startAgent();
    const big = 'x'.repeat(5000);
    expect((await post(server.url, big, { 'x-hub-signature-256': `sha256=${hmac(big)}` })).status).toBe(413);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${server.url}/hooks/git`, { method: 'POST', headers: { 'x-hub-signature-256': `sha256=${hmac(big)}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 5; i += 1) req.write(big.slice(0, 1000)); // chunked, no Content-Length
      req.end();
    });
    expect(status).toBe(413);
    expect(started).toEqual([]);
  });

  it('is off unless configured (404), answers 405 to GET, and refuses an empty secret', async () => {
    const off = await startAgent(false);
    expect((await post(off.server.url, PUSH, { 'x-hub-signature-256': `sha256=${hmac(PUSH)}` })).status).toBe(404);
    const on = await startAgent();
    expect((await fetch(`${on.server.url}/hooks/git`)).status).toBe(405);
    await expect(startAgentHttpServer({ host: '127.0.0.1', port: 0, webhook: { secret: '', request: (reason) => on.queue.request(reason) } })).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('overlapping triggers over real sockets', () => {
  const storm = process.env['FLOTILLA_SLOW'] === '1' ? 300 : 25;

  it(`${storm} concurrent signed webhooks never run two ticks at once and coalesce`, async () => {
    let active = 0;
    let peak = 0;
    let ticks = 0;
    const queue = createSingleFlight(async () => {
      active += 1;
      ticks += 1;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 30));
      active -= 1;
    });
    const server = await startAgentHttpServer({ host: '127.0.0.1', port: 0, webhook: { secret: SECRET, request: (r) => queue.request(r) } });
    servers.push(server);
    const statuses = await Promise.all(
      Array.from({ length: storm }, () => post(server.url, PUSH, { 'x-hub-signature-256': `sha256=${hmac(PUSH)}` }).then((r) => r.status)),
    );
    expect(statuses.every((s) => s === 202)).toBe(true);
    await queue.request('settle');
    expect(peak).toBe(1);
    expect(ticks).toBeGreaterThanOrEqual(2);
    expect(ticks).toBeLessThan(storm + 1);
  });
});

describe('/metrics and /healthz', () => {
  it('/metrics is valid Prometheus text with the agent metrics', async () => {
    const { server } = await startAgent();
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text.endsWith('\n')).toBe(true);
    const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? (-?[0-9.e+-]+|\+Inf|-Inf|NaN)$/;
    const typed = new Set<string>();
    for (const line of text.trimEnd().split('\n')) {
      if (line.startsWith('# HELP ')) continue;
      const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$/.exec(line);
      if (type !== null) {
        typed.add(type[1]!);
        continue;
      }
      expect(line).toMatch(sample);
      const name = line.split(/[{ ]/)[0]!;
      expect(typed.has(name) || typed.has(name.replace(/_(bucket|sum|count)$/, ''))).toBe(true);
    }
    expect(text).toContain('flotilla_last_tick_timestamp_seconds 1700000000.25\n');
    expect(text).toContain('flotilla_last_tick_result{result="converged"} 1\n');
    expect(text).toContain('flotilla_current_generation{set="web"} 7\n');
    expect(text).toContain(`flotilla_bad_digest_info{set="web",digest="sha256:${'cd'.repeat(32)}"} 1\n`);
    expect(text).toContain('flotilla_fetched_bytes_total{store="default"} 12345\n');
    expect(text).toContain('flotilla_step_duration_seconds_bucket{step="fetch",le="0.05"} 1\n');
    expect(text).toContain('flotilla_step_duration_seconds_bucket{step="fetch",le="0.01"} 0\n');
    expect(text).toContain('flotilla_step_duration_seconds_count{step="switch"} 1\n');
  });

  it('/healthz answers 200 with ok and the last tick', async () => {
    const { server, queue } = await startAgent();
    await queue.request('startup');
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ok: boolean; lastTick: { ok: boolean; finishedAt: string } };
    expect(body.ok).toBe(true);
    expect(body.lastTick.ok).toBe(true);
    expect(Number.isNaN(Date.parse(body.lastTick.finishedAt))).toBe(false);
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
  });
});
