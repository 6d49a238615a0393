import { readdir, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitSwitch, readCurrent, readState, recoverPending, setPaths, stageGeneration, switchGeneration } from '../../src/generations/index.js';
import { expectConsistent } from './consistency.js';
import { closure, makeStateDir } from './fixture.js';

const SET = 'web';
let stateDir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ stateDir, cleanup } = await makeStateDir()));
afterEach(async () => cleanup());
const paths = () => setPaths(stateDir, SET);

async function stage(version: string): Promise<number> {
  return (await stageGeneration({ stateDir, set: SET, ...(await closure(stateDir, version)), origin: {} })).generation.number;
}
async function deploy(version: string): Promise<number> {
  const n = await stage(version);
  await switchGeneration(stateDir, SET, n);
  await commitSwitch(stateDir, SET);
  return n;
}

describe('recoverPending', () => {
  it('reports a switch whose link already moved as "finish" and changes nothing', async () => {
    await deploy('v1');
    await switchGeneration(stateDir, SET, await stage('v2'));
    const before = await readFile(paths().stateFile, 'utf8');
    const r = await recoverPending(stateDir, SET);
    expect(r).toMatchObject({ action: 'finish', pending: { from: 1, to: 2, phase: 'switched' }, generation: { number: 2 } });
    expect(await readFile(paths().stateFile, 'utf8')).toBe(before);
    await commitSwitch(stateDir, SET);
    expect(await expectConsistent(stateDir, SET)).toBe('v2');
  });

  it('puts current back to the active generation when it drifted without a marker', async () => {
    await deploy('v1');
    await deploy('v2');
    await unlink(paths().current);
    await symlink(`generations/${await readCurrentName(1)}`, paths().current);
    const r = await recoverPending(stateDir, SET);
    expect(r).toMatchObject({ action: 'undo', generation: { number: 2 }, needsActivation: true });
    expect(await expectConsistent(stateDir, SET)).toBe('v2');
  });

  it('replaces a current that is not our link at all', async () => {
    await deploy('v1');
    await unlink(paths().current);
    await writeFile(paths().current, 'someone wrote a file here');
    expect((await recoverPending(stateDir, SET)).action).toBe('undo');
    expect(await expectConsistent(stateDir, SET)).toBe('v1');
  });

  it('adopts current when state.json was removed by hand, and never reuses a number afterwards', async () => {
    await deploy('v1');
    await deploy('v2');
    await rm(paths().stateFile);
    const r = await recoverPending(stateDir, SET);
    expect(r).toMatchObject({ action: 'none', adopted: true, generation: { number: 2 } });
    expect((await readState(paths().stateFile)).active).toBe(2);
    expect(await stage('v3')).toBe(3);
  });

  it('undoes a pending switch whose target directory has vanished', async () => {
    await deploy('v1');
    const n2 = await stage('v2');
    await switchGeneration(stateDir, SET, n2);
    await rm(join(paths().generationsDir, await readCurrentName(n2)), { recursive: true });
    const r = await recoverPending(stateDir, SET);
    expect(r).toMatchObject({ action: 'undo', generation: { number: 1 }, needsActivation: false });
    expect(await expectConsistent(stateDir, SET)).toBe('v1');
    expect((await readCurrent(paths().current))?.number).toBe(1);
  });
});

/** The directory name of generation `n`. */
async function readCurrentName(n: number): Promise<string> {
  return (await readdir(paths().generationsDir)).find((d) => d.startsWith(`${n}-`))!;
}
