import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkHealth, healthDeadlineMs } from '../../src/activation/health.js';
import { runCommand } from '../../src/activation/run-command.js';
import type { FlotillaEnv, HealthSpec } from '../../src/activation/spec.js';
import { HealthCheckError } from '../../src/errors/index.js';
import { makeTempDir, waitDead } from './proc.js';

type Handler = (count: number, res: ServerResponse) => void;

let dir: string;
let cleanup: () => Promise<void>;
let server: Server | undefined;
let hits = 0;
const env: FlotillaEnv = { FLOTILLA_SET: 'web', FLOTILLA_DIGEST: `sha256:${'cd'.repeat(32)}`, FLOTILLA_GENERATION: '/nonexistent' };

beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir('health'));
  env.FLOTILLA_GENERATION = dir;
  hits = 0;
});
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
  await cleanup();
});

/** Starts a real HTTP server on 127.0.0.1 and returns its URL. */
async function serve(handler: Handler): Promise<string> {
  server = createServer((_req, res) => {
    hits += 1;
    handler(hits, res);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
}

const base = { initialDelayMs: 0, intervalMs: 20, retries: 2, timeoutMs: 2000 } satisfies Partial<HealthSpec>;

async function failure(spec: HealthSpec): Promise<HealthCheckError> {
  const err = await checkHealth({ spec, runner: runCommand, env, generationPath: dir }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(HealthCheckError);
  return err as HealthCheckError;
}

describe('checkHealth over HTTP', () => {
  it('passes on a 200 at the first attempt', async () => {
    const url = await serve((_n, res) => res.end('ok'));
    await expect(checkHealth({ spec: { ...base, http: { url } }, runner: runCommand, env, generationPath: dir })).resolves.toEqual({ ok: true, attempts: 1 });
  });

  it('passes once a slow starter answers 200 (third attempt)', async () => {
    const url = await serve((n, res) => {
      res.statusCode = n < 3 ? 503 : 200;
      res.end();
    });
    await expect(checkHealth({ spec: { ...base, http: { url } }, runner: runCommand, env, generationPath: dir })).resolves.toEqual({ ok: true, attempts: 3 });
  });

  it('fails after retries + 1 attempts on a 500, naming the status', async () => {
    const url = await serve((_n, res) => {
      res.statusCode = 500;
      res.end('boom');
    });
    const err = await failure({ ...base, retries: 3, http: { url } });
    expect(hits).toBe(4);
    expect(err.data).toMatchObject({ set: 'web', attempts: 4 });
    expect((err.data['failures'] as { http: string }).http).toMatch(/status 500, expected 200/);
  });

  it('fails at the timeout when the server never answers', async () => {
    const url = await serve(() => undefined);
    const err = await failure({ ...base, retries: 1, timeoutMs: 300, http: { url } });
    expect((err.data['failures'] as { http: string }).http).toMatch(/no complete answer within 300 ms/);
    expect(hits).toBe(2);
  });

  it('fails at the timeout when the body trickles forever', async () => {
    const url = await serve((_n, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write('.'), 50);
      res.on('close', () => clearInterval(timer));
    });
    const err = await failure({ ...base, retries: 0, timeoutMs: 400, http: { url, bodyMatch: 'ready' } });
    expect((err.data['failures'] as { http: string }).http).toMatch(/no complete answer within 400 ms/);
  });

  it('checks bodyMatch and expectStatus', async () => {
    const url = await serve((_n, res) => {
      res.statusCode = 204;
      res.end('{"status":"degraded"}');
    });
    const err = await failure({ ...base, retries: 0, http: { url, expectStatus: 204, bodyMatch: '"status":"ok"' } });
    expect((err.data['failures'] as { http: string }).http).toMatch(/body does not match/);
    server?.closeAllConnections();
    server?.close();
    const url2 = await serve((_n, res) => res.end('{"status":"ok","version":"v1"}'));
    await expect(
      checkHealth({ spec: { ...base, http: { url: url2, bodyMatch: '"version":"v1"' } }, runner: runCommand, env, generationPath: dir }),
    ).resolves.toMatchObject({ ok: true });
  });

  it('with successThreshold, a flapping service (200, 500, 200, …) does not pass; a stable one does', async () => {
    const url = await serve((n, res) => {
      res.statusCode = n % 2 === 1 ? 200 : 500;
      res.end();
    });
    const err = await failure({ ...base, retries: 3, successThreshold: 2, http: { url } });
    // 200, 500, 200, 500: after the 4th attempt two passes in a row cannot fit in the last one, so it stops.
    expect(err.data['attempts']).toBe(4);
    expect(hits).toBe(4);
    server?.closeAllConnections();
    server?.close();
    hits = 0;
    const stable = await serve((n, res) => {
      res.statusCode = n === 1 ? 503 : 200;
      res.end();
    });
    await expect(
      checkHealth({ spec: { ...base, retries: 1, successThreshold: 3, http: { url: stable } }, runner: runCommand, env, generationPath: dir }),
    ).resolves.toEqual({ ok: true, attempts: 4 });
  });

  it('a crash-looping service (connection refused) fails within the deadline', async () => {
    const url = await serve((_n, res) => res.end());
    server?.close();
    server = undefined;
    const err = await failure({ ...base, http: { url } });
    expect((err.data['failures'] as { http: string }).http).toMatch(/ECONNREFUSED/);
  });

  it('refuses an invalid bodyMatch and a spec without checks', async () => {
    expect((await failure({ ...base, http: { url: 'http://127.0.0.1:1/', bodyMatch: '(' } })).data).toMatchObject({ field: 'health.http.bodyMatch' });
    expect((await failure({ ...base })).message).toMatch(/neither command nor http/);
  });
});

describe('checkHealth with a command', () => {
  it('passes when the command exits 0 and sees the FLOTILLA_* env in the generation dir', async () => {
    const out = join(dir, 'seen');
    await checkHealth({ spec: { ...base, command: `echo "$FLOTILLA_PHASE $FLOTILLA_SET $(pwd)" > ${out}` }, runner: runCommand, env, generationPath: dir });
    expect(await readFile(out, 'utf8')).toBe(`health web ${dir}\n`);
  });

  it('kills a hanging health command at its timeout and fails', async () => {
    const pidFile = join(dir, 'pid');
    const err = await failure({ ...base, retries: 0, timeoutMs: 300, command: `echo $$ > ${pidFile}; exec sleep 300` });
    expect((err.data['failures'] as { command: string }).command).toMatch(/timed out/);
    expect(await waitDead(Number(await readFile(pidFile, 'utf8')))).toBe(true);
  });

  it('requires every check to pass in one attempt', async () => {
    const url = await serve((_n, res) => res.end('ok'));
    const err = await failure({ ...base, retries: 1, command: 'echo not yet >&2; exit 1', http: { url } });
    expect(err.data['failures']).toEqual({ command: 'command exit 1: not yet' });
    expect(hits).toBe(2);
  });

  it('healthDeadlineMs bounds the whole check', () => {
    expect(healthDeadlineMs({ initialDelayMs: 1000, intervalMs: 500, retries: 2, timeoutMs: 2000 })).toBe(1000 + 3 * 3500 + 1000);
  });
});
