// Paths the user names that are missing, unreadable, badly named or not writable: the built CLI, run as a
// process, must answer with a typed error naming the path (exit 1), never InternalError.
//
// The suite runs as root, which ignores file modes, so "not readable" and "not writable" are made real other
// ways: files under /proc/sys/vm check their own mode even for root (EACCES), and `chattr +i` makes a
// directory immutable (EPERM on every write, even for root), as a read-only state dir is to the agent.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/package-fixtures.js';
import { makeSshKey, writeAllowedSigners } from '../helpers/ssh-keys.js';
import { CLI } from '../helpers/cli-bin.js';

const exec = promisify(execFile);

interface Failure {
  code: number;
  error: { code: string; message: string; data: Record<string, unknown> };
}

async function cli(cwd: string, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await exec(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, FLOTILLA_LOG_LEVEL: 'silent' } });
    return { code: 0, out: r.stdout };
  } catch (e) {
    const x = e as { code: number; stdout: string };
    return { code: x.code, out: x.stdout };
  }
}

async function failure(cwd: string, ...args: string[]): Promise<Failure> {
  const r = await cli(cwd, ...args, '--json');
  return { code: r.code, error: (JSON.parse(r.out) as { error: Failure['error'] }).error };
}

/** Runs `body` with `dir` immutable (chattr +i), and always makes it mutable again so it can be removed. */
async function immutable<T>(dir: string, body: () => Promise<T>): Promise<T> {
  await exec('chattr', ['+i', dir]);
  try {
    return await body();
  } finally {
    await exec('chattr', ['-i', dir]);
  }
}

describe('the CLI names a path it cannot use', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let digest: string;
  let agentConfig: string;
  beforeAll(async () => {
    t = await makeTempDir('flotilla-path-errors-');
    await mkdir(join(t.dir, 'app'));
    await writeFile(join(t.dir, 'app', 'a.txt'), 'a');
    // "caf\xe9": Latin-1, not UTF-8. Node cannot write such a name from a string, so the bytes go as a Buffer.
    await mkdir(join(t.dir, 'latin1'));
    await writeFile(Buffer.concat([Buffer.from(join(t.dir, 'latin1') + '/'), Buffer.from([0x63, 0x61, 0x66, 0xe9])]), 'x');
    await mkdir(join(t.dir, 'ro'));
    expect((await cli(t.dir, 'keygen', '--name', 'ci-1')).code).toBe(0);
    const pushed = await cli(t.dir, 'push', 'app', '--store', 'st', '--sign-key', 'ci-1.secret');
    expect(pushed.code).toBe(0);
    digest = pushed.out.trim();
    const signers = join(t.dir, 'allowed_signers');
    await writeAllowedSigners(signers, [await makeSshKey(t.dir, 'release')]);
    agentConfig = join(t.dir, 'agent.json');
    const config = { machine: 'm1', stateDir: join(t.dir, 'ro'), repo: { url: 'http://127.0.0.1:9/deploy.git', branch: 'main' }, trust: { allowedSignersFile: signers }, metrics: { enabled: false } };
    await writeFile(agentConfig, JSON.stringify(config));
  });
  afterAll(async () => t.cleanup());

  const table: Array<{ name: string; run: () => Promise<Failure>; code: string; data: (dir: string) => Record<string, unknown> }> = [
    {
      name: 'push of a directory that does not exist',
      run: () => failure(t.dir, 'push', 'nope', '--store', 'st'),
      code: 'PathError',
      data: (dir) => ({ path: join(dir, 'nope'), errno: 'ENOENT' }),
    },
    {
      name: 'push of a directory holding a file root may not read (/proc/sys/vm, EACCES)',
      run: () => failure(t.dir, 'push', '/proc/sys/vm', '--store', 'st'),
      code: 'PathError',
      data: () => ({ path: expect.stringMatching(/^\/proc\/sys\/vm\/./), errno: 'EACCES', syscall: 'open' }),
    },
    {
      name: 'push of a directory holding a file name that is not UTF-8',
      run: () => failure(t.dir, 'push', 'latin1', '--store', 'st'),
      code: 'UnsafePathError',
      data: () => ({ path: 'caf\\xe9', bytes: '636166e9' }),
    },
    {
      name: 'fetch into a state dir that cannot be written (immutable)',
      run: () => immutable(join(t.dir, 'ro'), () => failure(t.dir, 'fetch', digest, '--store', 'st', '--trust', '@ci-1.secret.pub', '--state', 'ro')),
      code: 'StateError',
      data: (dir) => ({ stateDir: join(dir, 'ro'), errno: 'EPERM' }),
    },
    {
      name: 'agent --once on a state dir that cannot be written (immutable)',
      run: () => immutable(join(t.dir, 'ro'), () => failure(t.dir, 'agent', '--config', agentConfig, '--once')),
      code: 'StateError',
      data: (dir) => ({ stateDir: join(dir, 'ro'), path: join(dir, 'ro'), errno: 'EPERM' }),
    },
  ];
  for (const c of table) {
    it(`${c.name} → exit 1, ${c.code}`, { timeout: 30_000 }, async () => {
      const f = await c.run();
      expect(f.code).toBe(1);
      expect(f.error.code).toBe(c.code);
      expect(f.error.data).toMatchObject(c.data(t.dir));
    });
  }
});
