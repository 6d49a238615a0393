import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitSwitch, readCurrent, recoverPending, setPaths, stageGeneration, switchGeneration } from '../../src/generations/index.js';
import { expectConsistent } from './consistency.js';
import { closure, makeStateDir } from './fixture.js';

const SET = 'web';
let stateDir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ stateDir, cleanup } = await makeStateDir()));
afterEach(async () => cleanup());

async function deploy(version: string): Promise<void> {
  const c = await closure(stateDir, version);
  const { generation } = await stageGeneration({ stateDir, set: SET, ...c, origin: {} });
  await switchGeneration(stateDir, SET, generation.number);
  await commitSwitch(stateDir, SET);
}

/** Leftovers an earlier crash could leave, each named like our temp names. */
async function plantLeftovers(): Promise<string[]> {
  const p = setPaths(stateDir, SET);
  const first = (await readdir(p.generationsDir)).find((n) => !n.startsWith('.'))!;
  await writeFile(join(p.setDir, '.tmp-state.json-4242-aaaaaaaaaaaa'), '{"half":');
  await mkdir(join(p.setDir, '.tmp-current-4242-bbbbbbbbbbbb', 'inner'), { recursive: true });
  await symlink('generations/99-000000000000', join(p.setDir, '.tmp-current-4243-cccccccccccc'));
  await symlink(`generations/${first}`, join(p.setDir, '.tmp-current-4244-dddddddddddd'));
  await mkdir(join(p.generationsDir, '.tmp-gen-7-4242-eeeeeeeeeeee'));
  await symlink('../../../../store/nowhere', join(p.generationsDir, '.tmp-gen-7-4242-eeeeeeeeeeee', 'app'));
  await writeFile(join(p.generationsDir, '.tmp-gen-8-4242-ffffffffffff'), 'not a dir');
  await symlink('/nonexistent', join(p.generationsDir, '.tmp-gc-3-abcd'));
  return [
    ...(await readdir(p.setDir)).filter((n) => n.startsWith('.tmp-')),
    ...(await readdir(p.generationsDir)).filter((n) => n.startsWith('.tmp-')),
  ];
}

describe('stale temp names from an earlier crash', () => {
  it('do not break stage, switch or commit', async () => {
    await deploy('v1');
    const planted = await plantLeftovers();
    expect(planted).toHaveLength(7);
    await deploy('v2');
    expect(await readFile(join(setPaths(stateDir, SET).current, 'app', 'file'), 'utf8')).toBe('v2');
    expect(await readCurrent(setPaths(stateDir, SET).current)).toMatchObject({ number: 2 });
  });

  it('are all removed by startup recovery, which then finds a consistent set', async () => {
    await deploy('v1');
    await plantLeftovers();
    const r = await recoverPending(stateDir, SET);
    expect(r.action).toBe('none');
    expect(r.cleaned).toHaveLength(7);
    expect(await expectConsistent(stateDir, SET)).toBe('v1');
    await deploy('v2');
    expect(await expectConsistent(stateDir, SET)).toBe('v2');
  });
});
