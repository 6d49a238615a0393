import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors/index.js';
import { authHeaders, readGitAuthFromEnv } from '../../src/git/git-auth.js';
import { readTreeFiles } from '../../src/git/read-tree.js';
import { syncRepo } from '../../src/git/sync-repo.js';
import { createBareRepo, createTestRepo, makeScratch, type Scratch, type TestRepo } from '../helpers/git-repo.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.js';

let scratch: Scratch;
let repo: TestRepo;
let bare: string;
let server: GitHttpServer;
let url: string;

beforeAll(async () => {
  scratch = await makeScratch('sync');
  repo = await createTestRepo(scratch.path, 'work');
  bare = await createBareRepo(join(scratch.path, 'srv'), 'deploy.git');
  server = await startGitHttpServer(join(scratch.path, 'srv'));
  url = `${server.url}/deploy.git`;
});
afterAll(async () => {
  await server.close();
  await scratch.cleanup();
});

describe('syncRepo over HTTP', () => {
  const cacheDir = () => join(scratch.path, 'cache', 'deploy.git');

  it('fetches on first sight, polls refs only while nothing moved, fetches again when the ref moves', async () => {
    const c1 = await repo.commit({ files: { 'flotilla.yaml': 'v: 1\n' } });
    await repo.pushTo(bare);
    const first = await syncRepo({ url, branch: 'main', cacheDir: cacheDir() });
    expect(first).toEqual({ gitdir: cacheDir(), head: c1, changed: true });
    const files = await readTreeFiles({ gitdir: first.gitdir, oid: first.head });
    expect(Buffer.from(files.get('flotilla.yaml')!).toString()).toBe('v: 1\n');

    const before = server.requests();
    const again = await syncRepo({ url, branch: 'main', cacheDir: cacheDir() });
    expect(again).toEqual({ gitdir: cacheDir(), head: c1, changed: false });
    expect(server.requests() - before).toBe(2); // info/refs + ls-refs: no upload-pack negotiation

    const c2 = await repo.commit({ files: { 'flotilla.yaml': 'v: 2\n' } });
    const c3 = await repo.commit({ files: { 'flotilla.yaml': 'v: 3\n' } });
    await repo.pushTo(bare);
    const moved = await syncRepo({ url, branch: 'main', cacheDir: cacheDir() });
    expect(moved).toMatchObject({ head: c3, changed: true });
    // The whole history is there for the ancestry check.
    const log = await repo.git(['--git-dir', cacheDir(), 'rev-list', c3]);
    expect(log.trim().split('\n')).toEqual([c3, c2, c1]);
  });

  it('a knownHead the cache holds asks the server nothing; any other knownHead syncs as usual', async () => {
    const have = (await syncRepo({ url, branch: 'main', cacheDir: cacheDir() })).head;
    const before = server.requests();
    expect(await syncRepo({ url, branch: 'main', cacheDir: cacheDir(), knownHead: have })).toEqual({ gitdir: cacheDir(), head: have, changed: false });
    expect(server.requests() - before).toBe(0);
    // A head the cache does not hold (a pointer naming something else): git is asked, and git's answer wins.
    const c4 = await repo.commit({ files: { 'flotilla.yaml': 'v: 4\n' } });
    await repo.pushTo(bare);
    expect(await syncRepo({ url, branch: 'main', cacheDir: cacheDir(), knownHead: 'f'.repeat(40) })).toMatchObject({ head: c4, changed: true });
    expect(server.requests() - before).toBeGreaterThan(2);
  });

  it('follows a force-push to an older commit (the trust layer, not sync, refuses it)', async () => {
    const old = (await repo.git(['rev-parse', 'HEAD~2'])).trim();
    await repo.setBranch('rewind', old);
    await repo.pushTo(bare, 'main', 'rewind');
    expect(await syncRepo({ url, branch: 'main', cacheDir: cacheDir() })).toMatchObject({ head: old, changed: true });
    await repo.pushTo(bare, 'main', 'main');
  });

  it('names a missing branch', async () => {
    const err = await syncRepo({ url, branch: 'nope', cacheDir: cacheDir() }).catch((e: unknown) => e);
    expect(hasCode(err, 'NotFoundError')).toBe(true);
  });

  it('stops a fetch at the byte cap and keeps no partial ref', async () => {
    const cap = join(scratch.path, 'cache', 'capped.git');
    // Random bytes do not compress: the pack is at least this big.
    await repo.commit({ files: { 'big.bin': randomBytes(150_000).toString('base64') } });
    await repo.pushTo(bare);
    const err = await syncRepo({ url, branch: 'main', cacheDir: cap, maxBytes: 20_000 }).catch((e: unknown) => e);
    expect(hasCode(err, 'SizeLimitError'), String(err)).toBe(true);
    const ok = await syncRepo({ url, branch: 'main', cacheDir: cap });
    expect(ok.changed).toBe(true);
    // Fetches are incremental: one small commit passes the same small cap the full history did not.
    const next = await repo.commit({ files: { 'small.txt': 'x\n' } });
    await repo.pushTo(bare);
    expect(await syncRepo({ url, branch: 'main', cacheDir: cap, maxBytes: 20_000 })).toMatchObject({ head: next, changed: true });
  });

  it('gives up at the deadline on a server that never answers', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const silent: Server = createServer(() => undefined);
    silent.on('connection', (s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    const err = await syncRepo({ url: `http://127.0.0.1:${port}/x.git`, branch: 'main', cacheDir: join(scratch.path, 'cache', 'silent.git'), deadlineMs: 300 }).catch((e: unknown) => e);
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
    expect(hasCode(err, 'TimeoutError'), String(err)).toBe(true);
  });

  it('gives up at the deadline on a server that sends headers and then stalls', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const stall: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement' });
      res.write('001e# service=git-upload-pack\n');
    });
    stall.on('connection', (s) => sockets.add(s));
    await new Promise<void>((r) => stall.listen(0, '127.0.0.1', r));
    const port = (stall.address() as AddressInfo).port;
    const err = await syncRepo({ url: `http://127.0.0.1:${port}/x.git`, branch: 'main', cacheDir: join(scratch.path, 'cache', 'stall.git'), deadlineMs: 400 }).catch((e: unknown) => e);
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => stall.close(() => r()));
    expect(hasCode(err, 'TimeoutError'), String(err)).toBe(true);
  });

  it('reports transport failures without credentials in the message', async () => {
    const err = await syncRepo({ url: 'http://user:s3cret@127.0.0.1:1/x.git', branch: 'main', cacheDir: join(scratch.path, 'cache', 'dead.git') }).catch((e: unknown) => e);
    expect(hasCode(err, 'GitError'), String(err)).toBe(true);
    expect(JSON.stringify(err) + String(err)).not.toContain('s3cret');
  });
});

describe('syncRepo on a local path', () => {
  it('reads a work tree or a bare repo in place and tracks changes', async () => {
    const cacheDir = join(scratch.path, 'cache', 'local');
    const head = await repo.rev();
    expect(await syncRepo({ url: repo.dir, branch: 'main', cacheDir })).toEqual({ gitdir: repo.gitdir, head, changed: true });
    expect(await syncRepo({ url: repo.dir, branch: 'main', cacheDir })).toEqual({ gitdir: repo.gitdir, head, changed: false });
    expect((await syncRepo({ url: bare, branch: 'main', cacheDir: join(scratch.path, 'cache', 'bare') })).gitdir).toBe(bare);
    const err = await syncRepo({ url: scratch.path, branch: 'main', cacheDir }).catch((e: unknown) => e);
    expect(hasCode(err, 'GitError')).toBe(true);
  });
});

describe('git auth from the environment', () => {
  it('sends the bearer token to the server on every request, and fails clearly without it', async () => {
    const seen: string[] = [];
    // A gate in front of the git server that wants `Bearer t0k`.
    const gate: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push(req.headers.authorization ?? '');
        if (req.headers.authorization !== 'Bearer t0k') {
          res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
          return;
        }
        const headers: Record<string, string> = {};
        for (const h of ['content-type', 'git-protocol', 'content-encoding']) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h];
        void fetch(`${server.url}${req.url}`, { ...(req.method !== undefined ? { method: req.method } : {}), headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) }).then(async (up) => {
          res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/octet-stream' });
          res.end(Buffer.from(await up.arrayBuffer()));
        });
      });
    });
    await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r));
    const gated = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/deploy.git`;
    try {
      const denied = await syncRepo({ url: gated, branch: 'main', cacheDir: join(scratch.path, 'cache', 'gate0.git') }).catch((e: unknown) => e);
      expect(hasCode(denied, 'GitError') || hasCode(denied, 'TransportError'), String(denied)).toBe(true);
      const auth = readGitAuthFromEnv({ FLOTILLA_GIT_TOKEN: 't0k' });
      const ok = await syncRepo({ url: gated, branch: 'main', cacheDir: join(scratch.path, 'cache', 'gate1.git'), ...(auth ? { auth } : {}) });
      expect(ok.head).toBe(await repo.rev());
      expect(seen.filter((a) => a === 'Bearer t0k').length).toBeGreaterThanOrEqual(3);
      expect(JSON.stringify(denied)).not.toContain('t0k');
    } finally {
      gate.closeAllConnections();
      await new Promise<void>((r) => gate.close(() => r()));
    }
  });

  it('prefers a bearer token, else basic, else none', () => {
    expect(authHeaders(readGitAuthFromEnv({ FLOTILLA_GIT_TOKEN: 't', FLOTILLA_GIT_USERNAME: 'u', FLOTILLA_GIT_PASSWORD: 'p' }))).toEqual({ Authorization: 'Bearer t' });
    expect(authHeaders(readGitAuthFromEnv({ FLOTILLA_GIT_USERNAME: 'u', FLOTILLA_GIT_PASSWORD: 'p' }))).toEqual({ Authorization: `Basic ${Buffer.from('u:p').toString('base64')}` });
    expect(readGitAuthFromEnv({})).toBeUndefined();
  });
});
