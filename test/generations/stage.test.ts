import { readlink, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  commitSwitch,
  gcGenerations,
  listGenerations,
  readState,
  setPaths,
  stageGeneration,
  switchGeneration,
} from '../../src/generations/index.js';
import { closure, digestOf, makeStateDir, materialise } from './fixture.js';

let stateDir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ stateDir, cleanup } = await makeStateDir()));
afterEach(async () => cleanup());

async function stage(version: string) {
  const c = await closure(stateDir, version);
  return stageGeneration({ stateDir, set: 'web', ...c, origin: { commit: `commit-${version}`, signer: 'alice' } });
}

async function deploy(version: string): Promise<number> {
  const { generation } = await stage(version);
  await switchGeneration(stateDir, 'web', generation.number);
  await commitSwitch(stateDir, 'web');
  return generation.number;
}

describe('stageGeneration', () => {
  it('creates N-<short digest> with relative package links and an origin.json', async () => {
    const { generation, created } = await stage('v1');
    expect(created).toBe(true);
    expect(generation.number).toBe(1);
    expect(generation.dirName).toBe(`1-${digestOf('closure:v1').slice(7, 19)}`);
    const link = await readlink(join(generation.path, 'app'));
    expect(link).toMatch(/^\.\.\/\.\.\/\.\.\/\.\.\/store\/[0-9a-f]{64}-app$/);
    expect(await readFile(join(generation.path, 'app', 'file'), 'utf8')).toBe('v1');
    const origin = JSON.parse(await readFile(join(generation.path, 'origin.json'), 'utf8')) as Record<string, unknown>;
    expect(origin).toMatchObject({ version: 1, set: 'web', number: 1, digest: digestOf('closure:v1'), commit: 'commit-v1', signer: 'alice' });
    expect(origin['packages']).toHaveLength(2);
  });

  it('is a no-op for a closure identical to current, and reuses an existing generation of the same digest', async () => {
    const n1 = await deploy('v1');
    const again = await stage('v1');
    expect(again).toMatchObject({ created: false, generation: { number: n1 } });
    const v2 = await stage('v2');
    const v2again = await stage('v2');
    expect(v2again).toMatchObject({ created: false, generation: { number: v2.generation.number } });
    expect((await listGenerations(stateDir, 'web')).map((g) => g.number)).toEqual([1, 2]);
  });

  it('never reuses a number, even after GC removed the highest generations', async () => {
    await deploy('v1');
    await deploy('v2');
    const { generation: g3 } = await stage('v3');
    expect(g3.number).toBe(3);
    await gcGenerations({ stateDir, keep: 0, graceMs: 0 });
    expect((await listGenerations(stateDir, 'web')).map((g) => g.number)).toEqual([1, 2]);
    const { generation: g4 } = await stage('v4');
    expect(g4.number).toBe(4);
    expect((await readState(setPaths(stateDir, 'web').stateFile)).lastNumber).toBe(4);
  });

  it('refuses a package that is not materialised, misplaced, or named twice, and writes nothing', async () => {
    const c = await closure(stateDir, 'v1');
    const missing = { ...c.packages[0]!, digest: digestOf('nowhere') };
    await expect(stageGeneration({ stateDir, set: 'web', digest: c.digest, packages: [{ ...missing, path: join(stateDir, 'store', `${missing.digest.slice(7)}-app`) }], origin: {} })).rejects.toMatchObject({ code: 'GenerationError', message: expect.stringContaining('not materialised') as string });
    await expect(stageGeneration({ stateDir, set: 'web', digest: c.digest, packages: [{ ...c.packages[0]!, path: '/etc' }], origin: {} })).rejects.toMatchObject({ code: 'GenerationError', message: expect.stringContaining('must be materialised at') as string });
    const other = await materialise(stateDir, 'app', 'other');
    await expect(stageGeneration({ stateDir, set: 'web', digest: c.digest, packages: [c.packages[0]!, other], origin: {} })).rejects.toMatchObject({ code: 'GenerationError', message: expect.stringContaining('two packages') as string });
    await expect(stageGeneration({ stateDir, set: '../x', digest: c.digest, packages: c.packages, origin: {} })).rejects.toMatchObject({ code: 'InvalidNameError' });
    await expect(stageGeneration({ stateDir, set: 'web', digest: 'sha256:XY' as never, packages: c.packages, origin: {} })).rejects.toMatchObject({ code: 'InvalidDigestError' });
    expect(await listGenerations(stateDir, 'web')).toEqual([]);
  });

  it('keeps working when the state dir is moved (links are relative)', async () => {
    await deploy('v1');
    const moved = `${stateDir}-moved`;
    const { rename } = await import('node:fs/promises');
    await rename(stateDir, moved);
    try {
      expect(await readFile(join(moved, 'sets', 'web', 'current', 'lib', 'file'), 'utf8')).toBe('v1');
    } finally {
      await rm(moved, { recursive: true, force: true });
    }
  });
});
