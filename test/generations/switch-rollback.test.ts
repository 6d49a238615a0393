import { readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  clearBad,
  commitSwitch,
  isBad,
  markBad,
  readCurrent,
  readState,
  recordDesired,
  rollbackTo,
  setPaths,
  stageGeneration,
  switchGeneration,
  type Generation,
} from '../../src/generations/index.js';
import { closure, digestOf, makeStateDir } from './fixture.js';

let stateDir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ stateDir, cleanup } = await makeStateDir()));
afterEach(async () => cleanup());

const SET = 'web';
const paths = () => setPaths(stateDir, SET);
const state = () => readState(paths().stateFile);
const currentNumber = async () => (await readCurrent(paths().current))?.number;

async function stageAndSwitch(version: string): Promise<Generation> {
  const c = await closure(stateDir, version);
  const { generation } = await stageGeneration({ stateDir, set: SET, ...c, origin: {} });
  await switchGeneration(stateDir, SET, generation.number);
  return generation;
}

describe('switch, commit and rollback', () => {
  it('marks pending before the swap and commits active/previousActive after', async () => {
    const g1 = await stageAndSwitch('v1');
    expect(await state()).toMatchObject({ pending: { to: 1, phase: 'switched', digest: g1.digest } });
    expect((await state()).pending?.from).toBeUndefined();
    await commitSwitch(stateDir, SET);
    expect(await state()).toMatchObject({ active: 1 });
    expect((await state()).pending).toBeUndefined();
    await stageAndSwitch('v2');
    expect(await state()).toMatchObject({ pending: { from: 1, to: 2 } });
    await commitSwitch(stateDir, SET);
    expect(await state()).toMatchObject({ active: 2, previousActive: 1 });
    expect(await readlink(paths().current)).toBe(`generations/2-${digestOf('closure:v2').slice(7, 19)}`);
  });

  it('rolls a failed switch back to the last ACTIVE generation, not N-1', async () => {
    await stageAndSwitch('v1');
    await commitSwitch(stateDir, SET); // 1 good
    await stageAndSwitch('v2'); // 2 fails health
    const r2 = await rollbackTo({ stateDir, set: SET, bad: { reason: 'health failed' } });
    expect(r2).toMatchObject({ from: 2, generation: { number: 1 }, currentUnset: false, markedBad: digestOf('closure:v2') });
    await stageAndSwitch('v3'); // 3 fails too: N-1 would be the bad 2
    const r3 = await rollbackTo({ stateDir, set: SET, bad: { reason: 'crash loop' } });
    expect(r3.generation?.number).toBe(1);
    expect(await currentNumber()).toBe(1);
    expect(await state()).toMatchObject({ active: 1 });
    expect((await state()).rollback).toBeUndefined();
    expect(Object.keys((await state()).bad).sort()).toEqual([digestOf('closure:v2'), digestOf('closure:v3')].sort());
    // Then 4 is good: the previous active is 1, again not N-1.
    await stageAndSwitch('v4');
    await commitSwitch(stateDir, SET);
    expect(await state()).toMatchObject({ active: 4, previousActive: 1 });
    const back = await rollbackTo({ stateDir, set: SET });
    expect(back.generation?.number).toBe(1);
    expect(await state()).toMatchObject({ active: 1, previousActive: 4 });
    expect(await readFile(join(paths().current, 'app', 'file'), 'utf8')).toBe('v1');
  });

  it('a failed first deployment leaves no current, and the state says so', async () => {
    await stageAndSwitch('v1');
    expect(await currentNumber()).toBe(1);
    const r = await rollbackTo({ stateDir, set: SET, bad: { reason: 'activation failed' } });
    expect(r).toMatchObject({ currentUnset: true, markedBad: digestOf('closure:v1') });
    expect(await currentNumber()).toBeUndefined();
    const s = await state();
    expect(s.active).toBeUndefined();
    expect(s.pending).toBeUndefined();
    expect(s.bad[digestOf('closure:v1')]).toMatchObject({ reason: 'activation failed', attempts: 1 });
  });

  it('refuses an operator rollback with no previous active generation, changing nothing', async () => {
    await stageAndSwitch('v1');
    await commitSwitch(stateDir, SET);
    const before = await readFile(paths().stateFile, 'utf8');
    await expect(rollbackTo({ stateDir, set: SET })).rejects.toMatchObject({ code: 'GenerationError' });
    expect(await readFile(paths().stateFile, 'utf8')).toBe(before);
    expect(await currentNumber()).toBe(1);
  });

  it('rolls back to an explicit generation and runs the activate hook under the lock', async () => {
    for (const v of ['v1', 'v2', 'v3']) {
      await stageAndSwitch(v);
      await commitSwitch(stateDir, SET);
    }
    const activated: number[] = [];
    const r = await rollbackTo({ stateDir, set: SET, to: 1, activate: (g) => (activated.push(g.number), Promise.resolve()) });
    expect(r.generation?.number).toBe(1);
    expect(activated).toEqual([1]);
    expect(await state()).toMatchObject({ active: 1, previousActive: 3 });
    await expect(rollbackTo({ stateDir, set: SET, to: 9 })).rejects.toMatchObject({ code: 'NotFoundError' });
  });

  it('refuses a second switch while one is pending', async () => {
    await stageAndSwitch('v1');
    const c = await closure(stateDir, 'v2');
    const { generation } = await stageGeneration({ stateDir, set: SET, ...c, origin: {} });
    await expect(switchGeneration(stateDir, SET, generation.number)).rejects.toMatchObject({ code: 'GenerationError', message: expect.stringContaining('pending') as string });
    expect(await currentNumber()).toBe(1);
  });

  it('reads a corrupt state.json as an error naming the file, never as empty', async () => {
    await stageAndSwitch('v1');
    await writeFile(paths().stateFile, '{"version":1,"bad":{},"lastNumber":"x"}');
    await expect(state()).rejects.toMatchObject({ code: 'GenerationError', message: expect.stringContaining('state.json: lastNumber') as string });
    await writeFile(paths().stateFile, '{not json');
    await expect(switchGeneration(stateDir, SET, 1)).rejects.toMatchObject({ code: 'GenerationError', data: { file: paths().stateFile } });
    await writeFile(paths().stateFile, '{"version":2,"bad":{},"lastNumber":1}');
    await expect(state()).rejects.toMatchObject({ message: expect.stringContaining('version') as string });
  });
});

describe('bad digests', () => {
  const v2 = digestOf('closure:v2');
  const v3 = digestOf('closure:v3');

  it('stay bad until the desired digest changes, then may be retried', async () => {
    await recordDesired(stateDir, SET, v2);
    await markBad(stateDir, SET, { digest: v2, reason: 'health failed', desiredCommit: 'abc' });
    await markBad(stateDir, SET, { digest: v2, reason: 'health failed again' });
    expect((await state()).bad[v2]).toMatchObject({ attempts: 2, desiredDigest: v2, reason: 'health failed again' });
    expect(await isBad(stateDir, SET, v2, v2)).toBe(true);
    await recordDesired(stateDir, SET, v2); // same desired: still bad
    expect(await isBad(stateDir, SET, v2, v2)).toBe(true);
    await recordDesired(stateDir, SET, v3); // the desired digest moved on
    await recordDesired(stateDir, SET, v2); // and back: v2 may be tried again
    expect(await isBad(stateDir, SET, v2, v2)).toBe(false);
  });

  it('are cleared by an operator, one or all', async () => {
    await markBad(stateDir, SET, { digest: v2, reason: 'x' });
    await markBad(stateDir, SET, { digest: v3, reason: 'y' });
    expect(await clearBad(stateDir, SET, v2)).toEqual([v2]);
    expect(await isBad(stateDir, SET, v2, v2)).toBe(false);
    expect(await isBad(stateDir, SET, v3, v3)).toBe(true);
    expect(await clearBad(stateDir, SET)).toEqual([v3]);
    expect(await clearBad(stateDir, SET)).toEqual([]);
  });

  it('a commit of a digest forgets its bad mark', async () => {
    await markBad(stateDir, SET, { digest: digestOf('closure:v1'), reason: 'flaky' });
    await stageAndSwitch('v1');
    await commitSwitch(stateDir, SET);
    expect((await state()).bad).toEqual({});
  });
});
