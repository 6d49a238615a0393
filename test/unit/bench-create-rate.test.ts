import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileCreatesPerMs } from '../../bench/lib/create-rate.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

// The benchmarks print how fast the host creates small files, beside their ratios: the probe must create
// exactly what it says, in a directory of its own, and give a rate for it; it leaves them (a delete would
// slow the creates after it), and refuses a count it cannot mean.

describe('bench host probe: file creates', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    t = await makeTempDir();
  });
  afterAll(() => t.cleanup());

  it('creates that many one-line files in a new directory of its own, leaves them, and answers files per ms', async () => {
    const rate = fileCreatesPerMs(t.dir, 50);
    expect(Number.isFinite(rate)).toBe(true);
    expect(rate).toBeGreaterThan(0);
    const [probe, ...others] = await readdir(t.dir);
    expect(others).toEqual([]);
    const files = await readdir(join(t.dir, probe ?? ''));
    expect(files.length).toBe(50);
    expect(await readFile(join(t.dir, probe ?? '', 'f49'), 'utf8')).toBe('flotilla benchmark create probe\n');
    // A second probe makes a directory of its own beside the first.
    fileCreatesPerMs(t.dir, 1);
    expect((await readdir(t.dir)).length).toBe(2);
  });

  it('refuses a count that is not a whole number of at least 1, creating nothing', async () => {
    const before = await readdir(t.dir);
    for (const n of [0, -1, 1.5, Number.NaN]) expect(() => fileCreatesPerMs(t.dir, n)).toThrow(/at least 1/);
    expect(await readdir(t.dir)).toEqual(before);
  });
});
