import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCliInProcess, type CliResult } from '../helpers/cli-in-process.js';
import { commitSwitch, isBad, readCurrent, setPaths, stageGeneration, switchGeneration } from '../../src/generations/index.js';
import { closure, digestOf, makeStateDir } from './fixture.js';
import { dataOf } from '../helpers/cli-json.js';

let stateDir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ stateDir, cleanup } = await makeStateDir()));
afterEach(async () => cleanup());

const cli = (argv: string[], env: Record<string, string> = {}): Promise<CliResult> => runCliInProcess(argv, { env });

async function deploy(version: string): Promise<void> {
  const c = await closure(stateDir, version);
  const { generation } = await stageGeneration({ stateDir, set: 'web', ...c, origin: { commit: `c-${version}` } });
  await switchGeneration(stateDir, 'web', generation.number);
  await commitSwitch(stateDir, 'web');
}

describe('generations, rollback and clear verbs', () => {
  it('lists generations with markers, as text and JSON, with the state dir from the environment', async () => {
    await deploy('v1');
    await deploy('v2');
    const text = await cli(['generations', 'web'], { FLOTILLA_STATE_DIR: stateDir });
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^\*A {3}\s+2 {2}[0-9a-f]{12} {2}\S+ {2}c-v2$/m);
    expect(text.out).toMatch(/^ {2}P {2}\s+1 /m);
    const json = await cli(['generations', 'web', '--state', stateDir, '--json']);
    expect(dataOf(json.out)).toMatchObject({ current: 2, active: 2, previousActive: 1, generations: [{ number: 1, commit: 'c-v1' }, { number: 2, current: true }] });
  });

  it('rolls back to the previously active generation, marks the one left bad, and clear forgets it', async () => {
    await deploy('v1');
    await deploy('v2');
    const r = await cli(['rollback', 'web', '--state', stateDir, '--json']);
    expect(r.code).toBe(0);
    expect(dataOf(r.out)).toMatchObject({ from: 2, to: 1, markedBad: digestOf('closure:v2'), activated: true });
    expect((await readCurrent(setPaths(stateDir, 'web').current))?.number).toBe(1);
    expect(await isBad(stateDir, 'web', digestOf('closure:v2'), digestOf('closure:v2'))).toBe(true);
    const listed = await cli(['generations', 'web', '--state', stateDir]);
    expect(listed.out).toMatch(/^ {2}P B\s+2 .*bad: operator rollback$/m);
    const cleared = await cli(['clear', 'web', '--state', stateDir, '--json']);
    expect(dataOf(cleared.out)).toEqual({ set: 'web', cleared: [digestOf('closure:v2')] });
    expect(await isBad(stateDir, 'web', digestOf('closure:v2'), digestOf('closure:v2'))).toBe(false);
    const to = await cli(['rollback', 'web', '--to', '2', '--keep-good', '--state', stateDir]);
    expect(to.code).toBe(0);
    expect(to.out).toContain('current is now generation 2');
  });

  it('refuses bad input clearly and changes nothing', async () => {
    await deploy('v1');
    expect(await cli(['rollback', 'web', '--to', 'x', '--state', stateDir])).toMatchObject({ code: 2, err: expect.stringContaining('--to') as string });
    expect(await cli(['rollback', 'web', '--state', stateDir])).toMatchObject({ code: 1, err: expect.stringContaining('no previously active generation') as string });
    expect(await cli(['generations', 'nosuch', '--state', stateDir])).toMatchObject({ code: 1, err: expect.stringContaining('no set nosuch') as string });
    expect(await cli(['clear', 'web', '--digest', 'sha256:12', '--state', stateDir])).toMatchObject({ code: 2, err: expect.stringContaining('UsageError: --digest must be') as string });
    expect(await cli(['clear', '../etc', '--state', stateDir])).toMatchObject({ code: 1, err: expect.stringContaining('InvalidNameError') as string });
    expect((await readCurrent(setPaths(stateDir, 'web').current))?.number).toBe(1);
  });
});
