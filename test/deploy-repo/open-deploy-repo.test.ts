import { stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDeployRepo, openLocalDeployRepo, readDeclarationsAt, type DeployRepo } from '../../src/deploy-repo/index.js';
import { CONFIG, setYaml } from '../declarations/fixtures.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.js';
import { createBareRepo, createTestRepo, makeScratch, type Scratch, type TestRepo } from '../helpers/git-repo.js';

let scratch: Scratch;
let work: TestRepo;
let bare: string;
let server: GitHttpServer;
let url: string;
const at: Record<string, string> = {};

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeDefined();
  return err as { code: string; message: string };
}

beforeAll(async () => {
  scratch = await makeScratch('open-repo');
  work = await createTestRepo(scratch.path, 'work');
  at['c1'] = await work.commit({ files: { 'flotilla.yaml': CONFIG }, message: 'c1' });
  at['c2'] = await work.commit({ files: { 'sets/web.yaml': setYaml() }, message: 'c2' });
  await work.git(['checkout', '-q', '-b', 'feature']);
  at['f1'] = await work.commit({ files: { 'sets/db.yaml': setYaml() }, message: 'f1' });
  await work.git(['checkout', '-q', 'main']);
  at['c3'] = await work.commit({ files: { 'a.txt': '3\n' }, message: 'c3' });
  await work.git(['-c', 'commit.gpgsign=false', 'merge', '-q', '--no-ff', '-m', 'merge', 'feature']);
  at['m'] = await work.rev('main');
  bare = await createBareRepo(join(scratch.path, 'served'), 'deploy.git');
  await work.pushTo(bare, 'main');
  await work.pushTo(bare, 'feature');
  server = await startGitHttpServer(join(scratch.path, 'served'));
  url = `${server.url}/deploy.git`;
});
afterAll(async () => {
  await server?.close();
  await scratch.cleanup();
});

describe('openDeployRepo on a local path', () => {
  it('a work tree (relative to cwd): its .git, its work tree, HEAD by default, revisions resolved in place', async () => {
    const repo = await openDeployRepo({ repo: relative(scratch.path, work.dir), cwd: scratch.path, env: {} });
    expect(repo).toMatchObject({ gitdir: work.gitdir, workTree: work.dir, remote: false, defaultRev: 'HEAD' });
    expect(await repo.resolve()).toBe(at['m']);
    expect(await repo.resolve('HEAD^2')).toBe(at['f1']);
    expect(await repo.resolve('main~1')).toBe(at['c3']);
    await repo.close();
  });

  it('a bare repo has no work tree; a plain directory is a GitError', async () => {
    const repo = await openLocalDeployRepo(bare);
    expect(repo.workTree).toBeUndefined();
    expect(await repo.resolve('feature')).toBe(at['f1']);
    expect((await failure(openLocalDeployRepo(scratch.path))).code).toBe('GitError');
  });
});

describe('openDeployRepo on an http(s) URL', () => {
  let repo: DeployRepo;
  beforeAll(async () => {
    repo = await openDeployRepo({ repo: url, cwd: scratch.path, env: {} });
  });
  afterAll(async () => repo.close());

  it('main by default; a branch then ~N/^N, walked in the fetched history', async () => {
    expect(repo).toMatchObject({ remote: true, defaultRev: 'main' });
    expect(repo.workTree).toBeUndefined();
    expect(await repo.resolve()).toBe(at['m']);
    expect(await repo.resolve('main~1')).toBe(at['c3']);
    expect(await repo.resolve('main^2')).toBe(at['f1']);
    expect(await repo.resolve('refs/heads/feature')).toBe(at['f1']);
    expect(await repo.resolve('feature~1')).toBe(at['c2']);
  });

  it('full and short ids of fetched commits; declarations read from the cache', async () => {
    expect(await repo.resolve(at['c2'])).toBe(at['c2']);
    expect(await repo.resolve(`${at['c2']!.slice(0, 8)}~1`)).toBe(at['c1']);
    const decls = await readDeclarationsAt(repo.gitdir, await repo.resolve('feature'));
    expect([...decls.decls!.sets.keys()]).toEqual(['db', 'web']);
  });

  it.each([
    ['no-such-branch', /branch no-such-branch not found/],
    ['no-such-branch~1', /branch no-such-branch not found/],
    ['0'.repeat(40), /not found/],
    ['abcdef0', /revision abcdef0 not found/],
  ])('%s: NotFoundError', async (rev, message) => {
    const err = await failure(repo.resolve(rev));
    expect(err.code).toBe('NotFoundError');
    expect(err.message).toMatch(message);
  });

  it('close() removes the temp cache', async () => {
    const other = await openDeployRepo({ repo: url, cwd: scratch.path, env: {} });
    await other.resolve();
    const tmp = dirname(other.gitdir);
    expect((await stat(other.gitdir)).isDirectory()).toBe(true);
    await other.close();
    await expect(stat(tmp)).rejects.toThrow(/ENOENT/);
  });
});
