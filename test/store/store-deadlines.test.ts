import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors/index.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { startSilentServer, type SilentServer } from '../helpers/silent-server.js';
import { CLI } from '../helpers/cli-bin.js';

const exec = promisify(execFile);
const DIGEST = `sha256:${'a'.repeat(64)}`;
// Short deadlines so a hang ends fast; the assertions are on outcomes, never on durations.
const SHORT = 'connectTimeout=1s&timeout=2s&idleTimeout=1s&attempts=2';
const errorOf = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);
const env = { ...process.env, FLOTILLA_LOG_LEVEL: 'silent', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', AWS_REGION: 'us-east-1' };

describe('store requests against an endpoint that accepts and never answers', () => {
  let silent: SilentServer;
  let urls: { s3: string; http: string };
  beforeAll(async () => {
    silent = await startSilentServer();
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', AWS_REGION: 'us-east-1' });
    const endpoint = `http://127.0.0.1:${silent.port}`;
    urls = { s3: `s3://silent-bucket/p?endpoint=${endpoint}&${SHORT}`, http: `${endpoint}/store/?writable=1&${SHORT}` };
  });
  afterAll(() => silent.close());

  const ops: Array<[string, (s: Store) => Promise<unknown>, string]> = [
    ['get', (s) => s.getBytes('objects/k1', { maxBytes: 10 }), 'objects/k1'],
    ['head', (s) => s.head('objects/k2'), 'objects/k2'],
    ['put', (s) => s.put('objects/k3', Buffer.from('x')), 'objects/k3'],
    ['delete', (s) => s.delete('objects/k4'), 'objects/k4'],
    ['list', (s) => s.list('pins/'), 'pins/'],
    // Large bodies have no total deadline: only the idle deadline (the SDK's requestTimeout on S3) ends these.
    ['put of a large stream', (s) => s.put('objects/k6', Readable.from([Buffer.alloc(9 << 20)])), 'objects/k6'],
  ];
  for (const kind of ['s3', 'http'] as const) {
    for (const [op, run, key] of ops) {
      if (kind === 'http' && op === 'list') continue; // an HTTP store cannot list: refused before any request
      it(`${kind} ${op} fails with TimeoutError naming the store and the key`, async () => {
        const s = openStore(urls[kind]);
        try {
          const err = await errorOf(run(s));
          expect(hasCode(err, 'TimeoutError')).toBe(true);
          expect((err as Error).message).toContain(key);
          expect((err as Error).message).toContain('127.0.0.1');
        } finally {
          await s.close();
        }
      }, 30_000);
    }

    it(`${kind}: the store's own signal aborts a hanging request at once`, async () => {
      const ctl = new AbortController();
      // Default deadlines (a minute): only the abort can end this inside the test timeout.
      const s = openStore(urls[kind].replace(/[?&]connectTimeout.*$/, '').replace(/\?$/, ''), { signal: ctl.signal });
      const before = silent.connections();
      const pending = errorOf(s.head('objects/k5'));
      await silent.connected(before + 1);
      ctl.abort();
      const err = await pending;
      expect((err as Error).name).toBe('AbortError');
      await s.close();
    }, 30_000);
  }

  it.each([
    ['pins', [], ['s3']],
    ['show', [DIGEST], ['s3', 'http']],
  ] as const)('the built CLI `flotilla %s` exits 1 with the TimeoutError', async (verb, args, kinds) => {
    // `pins` lists, which an HTTP store refuses before any request.
    for (const url of kinds.map((k) => urls[k])) {
      const r = await exec(process.execPath, [CLI, verb, ...args, '--store', url], { env }).then(
        () => ({ code: 0, err: '' }),
        (e: { code: number; stderr: string }) => ({ code: e.code, err: e.stderr }),
      );
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/TimeoutError: .* in .*127\.0\.0\.1/);
    }
  }, 60_000);

  it('a CLI process sent SIGTERM while a store request hangs exits 143', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'flotilla-sigterm-'));
    try {
      // Default deadlines: only the signal reaching the request ends it inside the test timeout.
      const url = `s3://silent-bucket/p?endpoint=http://127.0.0.1:${silent.port}`;
      const before = silent.connections();
      const child = spawn(process.execPath, [CLI, 'pins', '--store', url], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      await silent.connected(before + 1);
      child.kill('SIGTERM');
      expect(await exited).toBe(143);
      expect(stderr).toContain('interrupted by SIGTERM');
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  }, 40_000);
});
