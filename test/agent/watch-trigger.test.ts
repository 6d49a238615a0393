import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RequestOutcome } from '../../src/agent/single-flight.js';
import { findGitDirs, isRefPath, startWatchTrigger } from '../../src/agent/watch-trigger.js';
import { ConfigError } from '../../src/errors/index.js';
import { makeTempDir } from '../activation/proc.js';

const run = promisify(execFile);
const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'T',
  GIT_AUTHOR_EMAIL: 't@example.org',
  GIT_COMMITTER_NAME: 'T',
  GIT_COMMITTER_EMAIL: 't@example.org',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
};
const git = (cwd: string, ...args: string[]) => run('git', args, { cwd, env: gitEnv });

let dir: string;
let cleanup: () => Promise<void>;
let stops: Array<() => Promise<void>> = [];

beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir('watch'));
});
afterEach(async () => {
  for (const stop of stops) await stop();
  stops = [];
  await cleanup();
});

/** A request that records reasons and lets the test await the next one. */
function recorder() {
  const reasons: string[] = [];
  let waiters: Array<() => void> = [];
  const request = (reason: string): Promise<RequestOutcome> => {
    reasons.push(reason);
    for (const w of waiters) w();
    waiters = [];
    return Promise.resolve({ ran: true, ok: true, value: undefined });
  };
  const next = (limitMs = 15_000) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no tick requested')), limitMs);
      waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  return { reasons, request, next };
}

async function makeWorkTree(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
  await git(path, 'init', '-q', '-b', 'main');
  await writeFile(join(path, 'README'), 'one\n');
  await git(path, 'add', 'README');
  await git(path, 'commit', '-q', '-m', 'one');
}

describe('watch trigger', () => {
  it('a push into a watched bare repo requests a tick', async () => {
    const bare = join(dir, 'deploy.git');
    const work = join(dir, 'work');
    await run('git', ['init', '-q', '--bare', '-b', 'main', bare], { env: gitEnv });
    await makeWorkTree(work);
    await git(work, 'push', '-q', bare, 'main');
    const r = recorder();
    stops.push(await startWatchTrigger({ repoPath: bare, request: r.request, debounceMs: 50 }));
    const ticked = r.next();
    await writeFile(join(work, 'README'), 'two\n');
    await git(work, 'commit', '-q', '-am', 'two');
    await git(work, 'push', '-q', bare, 'main');
    await ticked;
    expect(r.reasons[0]).toBe('watch');
  });

  it('a commit in a watched work tree requests a tick; writing only objects does not', async () => {
    const work = join(dir, 'work');
    await makeWorkTree(work);
    const r = recorder();
    stops.push(await startWatchTrigger({ repoPath: work, request: r.request, debounceMs: 50 }));
    await writeFile(join(work, 'blob'), 'unreferenced\n');
    await git(work, 'hash-object', '-w', 'blob');
    await new Promise((res) => setTimeout(res, 800));
    expect(r.reasons).toEqual([]);
    const ticked = r.next();
    await git(work, 'commit', '-q', '--allow-empty', '-m', 'empty');
    await ticked;
    expect(r.reasons).toEqual(['watch']);
  });

  it('stop() closes the watcher: later pushes request nothing', async () => {
    const work = join(dir, 'work');
    await makeWorkTree(work);
    const r = recorder();
    const stop = await startWatchTrigger({ repoPath: work, request: r.request, debounceMs: 50 });
    await stop();
    await git(work, 'commit', '-q', '--allow-empty', '-m', 'after stop');
    await new Promise((res) => setTimeout(res, 500));
    expect(r.reasons).toEqual([]);
  });

  it('finds the git dir of a bare repo, a work tree and a linked work tree', async () => {
    const work = join(dir, 'work');
    await makeWorkTree(work);
    expect(await findGitDirs(work)).toEqual([join(work, '.git')]);
    await git(work, 'worktree', 'add', '-q', join(dir, 'linked'));
    expect(await findGitDirs(join(dir, 'linked'))).toEqual([join(work, '.git', 'worktrees', 'linked'), join(work, '.git')]);
    await expect(findGitDirs(dir)).rejects.toBeInstanceOf(ConfigError);
  });

  it('filters to HEAD, packed-refs and refs/, without lock files', () => {
    const g = ['/r/.git'];
    const table: Array<[string, boolean]> = [
      ['/r/.git', true],
      ['/r/.git/HEAD', true],
      ['/r/.git/packed-refs', true],
      ['/r/.git/refs', true],
      ['/r/.git/refs/heads/main', true],
      ['/r/.git/refs/heads/main.lock', false],
      ['/r/.git/objects/ab/cdef', false],
      ['/r/.git/index', false],
      ['/r/.git/refsx', false],
      ['/r/README', false],
    ];
    for (const [path, expected] of table) expect([path, isRefPath(path, g)]).toEqual([path, expected]);
  });
});
