import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { acquireSetLock, commitSwitch, packageDirName, stageGeneration, switchGeneration } from '../src/generations/index.js';
import { digestFromHex, type Digest } from '../src/store/digest.js';
import { fsyncDir } from '../src/util/atomic-write.js';
import { median, printTable } from './lib/stats.js';

/** What `npm run bench -- switch --help` prints: the synopsis, then what it measures. */
export const usage = "npm run bench -- switch [N=500]\nLatency of switchGeneration beside a bare rename(2) of a symlink, with and without the directory fsync.";

const digestOf = (s: string): Digest => digestFromHex(createHash('sha256').update(s).digest('hex'));

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)] ?? 0;
}

async function stage(stateDir: string, version: string): Promise<number> {
  const packages = [];
  for (const name of ['app', 'lib', 'config']) {
    const digest = digestOf(`${name}:${version}`);
    const path = join(stateDir, 'store', packageDirName(digest, name));
    await mkdir(path, { recursive: true });
    await writeFile(join(path, 'file'), version);
    packages.push({ digest, name, path });
  }
  return (await stageGeneration({ stateDir, set: 'bench', digest: digestOf(version), packages, origin: {} })).generation.number;
}

/** Times `n` calls of `fn(i)`, in milliseconds. */
async function time(n: number, fn: (i: number) => Promise<void>, after?: () => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
    if (after) await after();
  }
  return out;
}

/**
 * `npm run bench -- switch [N]`: latency of switchGeneration (pending marker written and fsynced, link to a
 * temp name, rename over `current`, fsync of the directory, under the set lock), beside a bare rename(2)
 * of a symlink and the same with the directory fsync, all measured in this run on the same filesystem.
 */
export async function run(args: string[]): Promise<void> {
  const n = Number(args[0] ?? 500);
  const stateDir = await mkdtemp(join(tmpdir(), 'flotilla-bench-switch-'));
  try {
    const gens = [await stage(stateDir, 'v1'), await stage(stateDir, 'v2')];
    await switchGeneration(stateDir, 'bench', gens[0]!);
    await commitSwitch(stateDir, 'bench');
    const sw = await time(n, async (i) => void (await switchGeneration(stateDir, 'bench', gens[(i + 1) % 2]!)), async () => void (await commitSwitch(stateDir, 'bench')));
    const commit: number[] = [];
    await time(n, async (i) => {
      await switchGeneration(stateDir, 'bench', gens[i % 2]!);
      const t0 = performance.now();
      await commitSwitch(stateDir, 'bench');
      commit.push(performance.now() - t0);
    });
    const lock = await time(n, async () => (await acquireSetLock(stateDir, 'bench'))());
    const dir = join(stateDir, 'bare');
    await mkdir(dir);
    const link = join(dir, 'current');
    await symlink('a', link);
    const bare = await time(n, async (i) => {
      await symlink(i % 2 ? 'a' : 'b', join(dir, `.tmp-${i}`));
      await rename(join(dir, `.tmp-${i}`), link);
    });
    const bareSync = await time(n, async (i) => {
      await symlink(i % 2 ? 'a' : 'b', join(dir, `.tmp-s${i}`));
      await rename(join(dir, `.tmp-s${i}`), link);
      await fsyncDir(dir);
    });
    const row = (name: string, xs: number[]) => [name, median(xs).toFixed(3), p99(xs).toFixed(3), n];
    process.stdout.write(`switch latency in ${stateDir.startsWith(tmpdir()) ? tmpdir() : stateDir} (target: switch under 5 ms)\n`);
    printTable(['operation', 'median ms', 'p99 ms', 'runs'], [
      row('switchGeneration', sw),
      row('commitSwitch', commit),
      row('set lock acquire+release', lock),
      row('bare symlink+rename(2)', bare),
      row('bare symlink+rename+fsync(dir)', bareSync),
    ]);
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
}
