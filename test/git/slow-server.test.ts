// A git server that is slow to answer (a loaded host, a far one) must get the whole sync deadline, not Node's
// 5 s socket idle timeout: under 100 agents on two cores the bridge took longer than that, and every rollout
// tick that met it failed "Request timed out" (bench scale-real's logs, docs/operations.md).
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncRepo } from '../../src/git/sync-repo.js';
import { createBareRepo, createTestRepo, makeScratch, type Scratch, type TestRepo } from '../helpers/git-repo.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.js';

/** Node's global http agent's socket timeout (http.globalAgent.options.timeout in Node 20): the answer waits longer. */
const HOLD_MS = 5_600;

let scratch: Scratch;
let repo: TestRepo;
let bare: string;
let server: GitHttpServer;
let slow: Server;
let slowUrl: string;
let held = 0;

beforeAll(async () => {
  scratch = await makeScratch('slow-git');
  repo = await createTestRepo(scratch.path, 'work');
  bare = await createBareRepo(join(scratch.path, 'srv'), 'deploy.git');
  server = await startGitHttpServer(join(scratch.path, 'srv'));
  const to = new URL(server.url);
  // Forwards to the real git http-backend bridge, and holds the first answer's headers HOLD_MS, sending nothing
  // (one held answer shows it: every request of the sync goes through the same client).
  slow = createServer((req, res) => {
    const up = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      const answer = (): void => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      };
      if (held++ === 0) setTimeout(answer, HOLD_MS);
      else answer();
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/deploy.git`;
});
afterAll(async () => {
  slow.closeAllConnections();
  await new Promise<void>((r) => slow.close(() => r()));
  await server.close();
  await scratch.cleanup();
});

describe('syncRepo against a slow git server', () => {
  it('waits for answers slower than a socket idle timeout, up to the deadline', async () => {
    const c1 = await repo.commit({ files: { 'flotilla.yaml': 'v: 1\n' } });
    await repo.pushTo(bare);
    const synced = await syncRepo({ url: slowUrl, branch: 'main', cacheDir: join(scratch.path, 'cache', 'deploy.git'), deadlineMs: 60_000 });
    expect(synced).toMatchObject({ head: c1, changed: true });
    // The ref advertisement was held past the idle timeout, and the sync went on to fetch the pack.
    expect(held).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
