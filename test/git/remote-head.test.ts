import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitError, SizeLimitError, TimeoutError, TransportError } from '../../src/errors/index.js';
import { readRemoteHead } from '../../src/git/remote-head.js';
import { readRepoAuth } from '../../src/git/repo-auth.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.js';
import { createBareRepo, createTestRepo, runTool, type TestRepo } from '../helpers/git-repo.js';

const A = 'a'.repeat(40);
const pkt = (s: string): string => `${(Buffer.byteLength(s) + 4).toString(16).padStart(4, '0')}${s}`;
const ADV = `${pkt('# service=git-upload-pack\n')}0000${pkt(`${A} refs/heads/main\0caps\n`)}0000`;

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('readRemoteHead against git-http-backend', () => {
  let root: string;
  let git: GitHttpServer;
  let work: TestRepo;
  let bare: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'flotilla-remote-head-'));
    bare = await createBareRepo(join(root, 'served'));
    git = await startGitHttpServer(join(root, 'served'));
    work = await createTestRepo(root, 'work');
  });
  afterAll(async () => {
    await git?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('gives null for an empty repo, then the branch head after each push', async () => {
    const url = `${git.url}/deploy.git`;
    expect(await readRemoteHead({ url, branch: 'main', deadlineMs: 10_000 })).toBeNull();
    await work.commit({ message: 'one' });
    await work.pushTo(bare, 'main');
    const head = (await runTool('git', ['--git-dir', bare, 'rev-parse', 'refs/heads/main'])).trim();
    expect(await readRemoteHead({ url: `${url}/`, branch: 'main', deadlineMs: 10_000 })).toBe(head);
    await work.commit({ message: 'two' });
    await work.pushTo(bare, 'main');
    expect(await readRemoteHead({ url, branch: 'main', deadlineMs: 10_000 })).toBe((await runTool('git', ['--git-dir', bare, 'rev-parse', 'refs/heads/main'])).trim());
    expect(await readRemoteHead({ url, branch: 'other', deadlineMs: 10_000 })).toBeNull();
  });

  it('fails with TransportError for a repo that does not exist', async () => {
    await expect(readRemoteHead({ url: `${git.url}/missing.git`, branch: 'main', deadlineMs: 10_000 })).rejects.toThrow(TransportError);
  });
});

describe('readRemoteHead against misbehaving servers', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  it('sends the configured credentials (bearer token from the named variable)', async () => {
    const seen: Array<string | undefined> = [];
    const { url, server } = await listen((req, res) => {
      seen.push(req.headers.authorization);
      if (req.headers.authorization !== 'Bearer s3cret') return void res.writeHead(401).end();
      res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement' }).end(ADV);
    });
    servers.push(server);
    await expect(readRemoteHead({ url, branch: 'main', deadlineMs: 5000 })).rejects.toThrow(/answered 401/);
    const auth = readRepoAuth({ bearerTokenEnv: 'MY_TOKEN' }, { MY_TOKEN: 's3cret' });
    expect(await readRemoteHead({ url, branch: 'main', deadlineMs: 5000, ...(auth ? { auth } : {}) })).toBe(A);
    // A 401 to the protocol v2 request is final; with the token, the v2 request and then (this server speaks
    // only v0) the advertisement both carry it.
    expect(seen).toEqual([undefined, 'Bearer s3cret', 'Bearer s3cret']);
    expect(new URL(url).search).toBe('');
  });

  it('refuses a dumb server, a redirect, an oversize answer, a malformed one, and a stalled one', async () => {
    const { url, server } = await listen((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/dumb/info/refs') return void res.writeHead(200, { 'content-type': 'text/plain' }).end(`${A}\trefs/heads/main\n`);
      if (path === '/moved/info/refs') return void res.writeHead(301, { location: '/ok/info/refs' }).end();
      if (path === '/big/info/refs') return void res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement' }).end(ADV + 'x'.repeat(5000));
      if (path === '/bad/info/refs') return void res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement' }).end(`${ADV}0000`);
      if (path === '/slow/info/refs') return void res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement' }).write(ADV.slice(0, 10));
      res.writeHead(404).end();
    });
    servers.push(server);
    await expect(readRemoteHead({ url: `${url}/dumb`, branch: 'main', deadlineMs: 5000 })).rejects.toThrow(TransportError);
    await expect(readRemoteHead({ url: `${url}/moved`, branch: 'main', deadlineMs: 5000 })).rejects.toThrow(/answered 301/);
    await expect(readRemoteHead({ url: `${url}/big`, branch: 'main', deadlineMs: 5000, maxBytes: 1024 })).rejects.toThrow(SizeLimitError);
    await expect(readRemoteHead({ url: `${url}/bad`, branch: 'main', deadlineMs: 5000 })).rejects.toThrow(GitError);
    await expect(readRemoteHead({ url: `${url}/slow`, branch: 'main', deadlineMs: 300 })).rejects.toThrow(TimeoutError);
  });

  it('fails with TransportError when nothing listens', async () => {
    const { url, server } = await listen(() => undefined);
    await new Promise((r) => server.close(r));
    await expect(readRemoteHead({ url, branch: 'main', deadlineMs: 5000 })).rejects.toThrow(TransportError);
  });
});

describe('readRepoAuth', () => {
  it('prefers the configured token, then configured user+password, then FLOTILLA_GIT_*', () => {
    expect(readRepoAuth({ bearerTokenEnv: 'T', usernameEnv: 'U', passwordEnv: 'P' }, { T: 't', U: 'u', P: 'p' })).toEqual({ kind: 'bearer', token: 't' });
    expect(readRepoAuth({ bearerTokenEnv: 'T', usernameEnv: 'U', passwordEnv: 'P' }, { U: 'u', P: 'p' })).toEqual({ kind: 'basic', username: 'u', password: 'p' });
    expect(readRepoAuth({}, { FLOTILLA_GIT_TOKEN: 'g' })).toEqual({ kind: 'bearer', token: 'g' });
    expect(readRepoAuth({ usernameEnv: 'U' }, { U: 'u' })).toBeUndefined();
  });
});
