import { execFileSync } from 'node:child_process';
import { mkdtemp, open, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commitSwitch, readCurrent, setPaths, stageGeneration, switchGeneration, type DiskSpace } from '../../src/generations/index.js';
import { closure, makeStateDir } from './fixture.js';

const SET = 'web';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A 1 MiB tmpfs as the state dir (we run as root in CI); undefined where mounting is not allowed. */
async function tinyTmpfs(): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  cleanups.push(async () => {
    execFileSync('umount', [dir]);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Fills the filesystem holding `dir` up to the last byte, then frees `leave` bytes. */
async function fill(dir: string, leave = 0): Promise<void> {
  const fh = await open(join(dir, 'filler'), 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) await fh.write(chunk);
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    await fh.truncate(Math.max(0, (await fh.stat()).size - leave));
  } finally {
    await fh.close();
  }
}

async function deployV1(stateDir: string): Promise<void> {
  const c = await closure(stateDir, 'v1');
  const { generation } = await stageGeneration({ stateDir, set: SET, ...c, origin: {} });
  await switchGeneration(stateDir, SET, generation.number);
  await commitSwitch(stateDir, SET);
}

async function snapshot(stateDir: string): Promise<unknown> {
  const p = setPaths(stateDir, SET);
  return { current: await readCurrent(p.current), state: await readFile(p.stateFile, 'utf8'), gens: await readdir(p.generationsDir), set: await readdir(p.setDir) };
}

describe('disk full while staging', () => {
  const canMount = process.getuid?.() === 0;

  it('on a full tmpfs: an early clear error, current and state untouched, nothing left behind', async () => {
    // Never a silent skip (CONTRIBUTING.md): without root the run fails and says why.
    expect(canMount, 'this test mounts a 1 MiB tmpfs: run the suite as root (CI does)').toBe(true);
    const stateDir = await tinyTmpfs();
    expect(stateDir, 'mount -t tmpfs failed although we run as root').toBeDefined();
    await deployV1(stateDir!);
    const v2 = await closure(stateDir!, 'v2');
    await fill(stateDir!, 4096); // room for the lock file, far too little for a generation
    const before = await snapshot(stateDir!);
    await expect(stageGeneration({ stateDir: stateDir!, set: SET, ...v2, origin: {} })).rejects.toMatchObject({
      code: 'DiskFullError',
      message: expect.stringContaining('not enough disk space') as string,
      data: { errno: 'ENOSPC' },
    });
    expect(await snapshot(stateDir!)).toEqual(before);
    // Past the early check (a port that claims room), the real ENOSPC is still a clear DiskFullError.
    const roomy: DiskSpace = { freeBytes: () => Promise.resolve(1e12) };
    await expect(stageGeneration({ stateDir: stateDir!, set: SET, ...v2, origin: {}, space: roomy })).rejects.toMatchObject({
      code: 'DiskFullError',
      message: expect.stringContaining('disk full') as string,
    });
    expect(await snapshot(stateDir!)).toEqual(before);
    // With not even room for the lock file, the error is as clear.
    await unlink(join(stateDir!, 'filler'));
    await fill(stateDir!);
    await expect(stageGeneration({ stateDir: stateDir!, set: SET, ...v2, origin: {} })).rejects.toMatchObject({
      code: 'DiskFullError',
      message: expect.stringContaining('disk full') as string,
    });
    expect(await snapshot(stateDir!)).toEqual(before);
    expect(await readFile(join(setPaths(stateDir!, SET).current, 'app', 'file'), 'utf8')).toBe('v1');
    // Once space is freed, the same stage succeeds.
    await unlink(join(stateDir!, 'filler'));
    expect((await stageGeneration({ stateDir: stateDir!, set: SET, ...v2, origin: {} })).created).toBe(true);
  });

  it('fails early through the DiskSpace port before writing anything (any user)', async () => {
    const { stateDir, cleanup } = await makeStateDir();
    cleanups.push(cleanup);
    await deployV1(stateDir);
    const v2 = await closure(stateDir, 'v2');
    const before = await snapshot(stateDir);
    const tiny: DiskSpace = { freeBytes: () => Promise.resolve(1000) };
    await expect(stageGeneration({ stateDir, set: SET, ...v2, origin: {}, space: tiny })).rejects.toMatchObject({ code: 'DiskFullError', data: { freeBytes: 1000 } });
    expect(await snapshot(stateDir)).toEqual(before);
  });
});
