import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/package-fixtures.js';

// `npm run bench -- NAME --help` says what NAME measures and how to run it, and runs nothing: a benchmark
// asked for help must not build its world (minutes, and Ceph RGW for some). Run as the built runner.

const exec = promisify(execFile);
const RUN = resolve('dist/bench/run.js');

describe('bench runner: --help', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    t = await makeTempDir();
  });
  afterAll(async () => t.cleanup());

  it('NAME --help prints its synopsis and what it measures, and makes nothing', async () => {
    for (const name of ['fetch', 'switch', 'store']) {
      const { stdout } = await exec(process.execPath, [RUN, name, '--runs', '1', '--help'], { env: { ...process.env, TMPDIR: t.dir }, timeout: 20_000 });
      expect(stdout.split('\n')[0]).toMatch(new RegExp(`^usage: npm run bench -- ${name}( |$)`));
      expect(stdout.split('\n')[1]?.length).toBeGreaterThan(20);
    }
    // Each of these makes its working directory under TMPDIR first thing when it runs.
    expect(await readdir(t.dir)).toEqual([]);
  });

  it('--help alone lists every benchmark with its synopsis', async () => {
    const { stdout } = await exec(process.execPath, [RUN, '--help'], { timeout: 20_000 });
    const names = (await readdir(resolve('dist/bench'))).filter((f) => f.endsWith('.js') && f !== 'run.js').map((f) => f.slice(0, -3));
    expect(names.length).toBeGreaterThan(5);
    for (const n of names) expect(stdout).toContain(`npm run bench -- ${n} `);
  });

  it('an unknown name is a usage error naming what is available', async () => {
    const err = await exec(process.execPath, [RUN, 'nosuch'], { timeout: 20_000 }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toMatch(/available: .*fetch/);
  });
});
