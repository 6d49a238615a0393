import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { commitSwitch, setPaths, stageGeneration, switchGeneration } from '../../src/generations/index.js';
import { CHILD, closure, makeStateDir, requireBuild } from './fixture.js';

const SET = 'web';
let stateDir: string;
let cleanup: () => Promise<void>;
beforeAll(() => requireBuild());
beforeEach(async () => ({ stateDir, cleanup } = await makeStateDir()));
afterEach(async () => cleanup());

describe('a reader during switches', () => {
  it('resolving current/… in a tight loop in another process never sees ENOENT or a mix over 1,000 switches', { timeout: 120_000 }, async () => {
    const gens: number[] = [];
    for (const v of ['v1', 'v2']) {
      const c = await closure(stateDir, v);
      gens.push((await stageGeneration({ stateDir, set: SET, ...c, origin: {} })).generation.number);
    }
    await switchGeneration(stateDir, SET, gens[0]!);
    await commitSwitch(stateDir, SET);

    const stopFile = join(stateDir, 'stop-reader');
    const args = { current: setPaths(stateDir, SET).current, stopFile, versions: ['v1', 'v2'] };
    const reader = spawn(process.execPath, [CHILD, 'reader', JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    reader.stdout.on('data', (c: Buffer) => (out += c.toString()));
    while (!out.includes('ready\n')) await once(reader.stdout, 'data');

    for (let i = 1; i <= 1000; i++) {
      await switchGeneration(stateDir, SET, gens[i % 2]!);
      await commitSwitch(stateDir, SET);
    }
    await writeFile(stopFile, '');
    const [code] = (await once(reader, 'close')) as [number | null];
    expect(code).toBe(0);
    const result = JSON.parse(out.split('\n').filter(Boolean).at(-1)!) as { reads: number; errors: Record<string, number>; seen: string[] };
    expect(result.errors).toEqual({});
    expect(result.seen.sort()).toEqual(['v1', 'v2']);
    expect(result.reads).toBeGreaterThan(1000);
  });
});
