import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitError } from '../../src/errors/index.js';
import { lsRefsRequest, parseLsRefsResult } from '../../src/git/ls-refs-v2.js';
import { readRemoteHead } from '../../src/git/remote-head.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.js';
import { createBareRepo, createTestRepo, runTool } from '../helpers/git-repo.js';

/** One request as a counting proxy saw it. */
interface Seen {
  method: string;
  path: string;
  gitProtocol: string | undefined;
  requestBytes: number;
  responseBytes: number;
}

/**
 * A proxy in front of git http-backend that records every request with its body sizes; with `v0Only` it
 * drops the Git-Protocol header, so the backend answers as a server without protocol v2 does.
 */
async function countingProxy(target: string, v0Only: boolean): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: upstream.host };
      if (v0Only) delete headers['git-protocol'];
      const entry: Seen = { method: req.method ?? '', path: req.url ?? '', gitProtocol: req.headers['git-protocol'] as string | undefined, requestBytes: body.length, responseBytes: 0 };
      seen.push(entry);
      const up = httpRequest({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.on('data', (c: Buffer) => (entry.responseBytes += c.length));
        ur.pipe(res);
      });
      up.on('error', () => res.writeHead(502).end());
      up.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

describe('the head check asks git for one branch with protocol v2 ls-refs', () => {
  let root: string;
  let git: GitHttpServer;
  let bare: string;
  let head: string;
  const servers: Server[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'flotilla-ls-refs-'));
    bare = await createBareRepo(join(root, 'served'));
    git = await startGitHttpServer(join(root, 'served'));
    const work = await createTestRepo(root, 'work');
    head = await work.commit({ message: 'one' });
    await work.pushTo(bare, 'main');
  });
  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    await git?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('sends the same bytes and gets the same bytes back with 1,000 more refs in the repo', async () => {
    const proxy = await countingProxy(git.url, false);
    servers.push(proxy.server);
    const url = `${proxy.url}/deploy.git`;
    expect(await readRemoteHead({ url, branch: 'main', deadlineMs: 10_000 })).toBe(head);
    const tags = Array.from({ length: 1000 }, (_, i) => `create refs/tags/t${i} ${head}\n`).join('');
    await runTool('git', ['--git-dir', bare, 'update-ref', '--stdin'], { input: tags });
    expect(await readRemoteHead({ url, branch: 'main', deadlineMs: 10_000 })).toBe(head);
    expect(proxy.seen.map((s) => [s.method, s.path, s.gitProtocol])).toEqual([
      ['POST', '/deploy.git/git-upload-pack', 'version=2'],
      ['POST', '/deploy.git/git-upload-pack', 'version=2'],
    ]);
    const [before, after] = proxy.seen;
    expect(after!.requestBytes).toBe(before!.requestBytes);
    expect(after!.responseBytes).toBe(before!.responseBytes);
    // One ref line and a flush-pkt: the answer names the branch only.
    expect(after!.responseBytes).toBeLessThan(100);
  });

  it('falls back to the v0 advertisement once for a server without v2, and remembers it', async () => {
    const proxy = await countingProxy(git.url, true);
    servers.push(proxy.server);
    const url = `${proxy.url}/deploy.git`;
    expect(await readRemoteHead({ url, branch: 'main', deadlineMs: 10_000 })).toBe(head);
    expect(await readRemoteHead({ url, branch: 'main', deadlineMs: 10_000 })).toBe(head);
    expect(proxy.seen.map((s) => [s.method, s.path.split('?')[0]])).toEqual([
      ['POST', '/deploy.git/git-upload-pack'],
      ['GET', '/deploy.git/info/refs'],
      ['GET', '/deploy.git/info/refs'],
    ]);
  });
});

describe('ls-refs framing', () => {
  const pkt = (s: string): string => `${(Buffer.byteLength(s) + 4).toString(16).padStart(4, '0')}${s}`;
  const A = 'a'.repeat(40);

  it('asks with the command, a delimiter, the prefix and a flush', () => {
    expect(Buffer.from(lsRefsRequest('refs/heads/main')).toString()).toBe('0014command=ls-refs\n0001001fref-prefix refs/heads/main\n0000');
    expect(() => lsRefsRequest('refs/heads/a b')).toThrow(GitError);
  });

  it.each([
    ['an empty body (a server without v2)', ''],
    ['no closing flush', pkt(`${A} refs/heads/main\n`)],
    ['a bad object id', `${pkt(`${'g'.repeat(40)} refs/heads/main\n`)}0000`],
    ['a line without LF', `${pkt(`${A} refs/heads/main`)}0000`],
    ['a ref listed twice', `${pkt(`${A} refs/heads/main\n`)}${pkt(`${A} refs/heads/main\n`)}0000`],
    ['bytes after the flush', `${pkt(`${A} refs/heads/main\n`)}0000${pkt('x\n')}`],
  ])('refuses %s', (_, body) => {
    expect(() => parseLsRefsResult(Buffer.from(body))).toThrow(GitError);
  });

  it('reads refs with attributes, and an empty repository as no refs', () => {
    expect(parseLsRefsResult(Buffer.from(`${pkt(`${A} refs/heads/main symref-target:refs/heads/x\n`)}0000`))).toEqual(new Map([['refs/heads/main', A]]));
    expect(parseLsRefsResult(Buffer.from('0000'))).toEqual(new Map());
  });
});
