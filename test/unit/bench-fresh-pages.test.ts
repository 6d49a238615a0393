import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPageCacheGBps } from '../../bench/lib/fresh-pages.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

// The benchmarks print how fast the host fills fresh page cache, beside their ratios: the probe must give
// a rate for what it wrote and leave the directory as it found it (the rounds write there next).

describe('bench host probe: fresh page-cache writes', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    t = await makeTempDir();
    await writeFile(join(t.dir, 'kept'), 'x');
  });
  afterAll(() => t.cleanup());

  it('answers a rate in GB/s and removes its file', async () => {
    const rate = await freshPageCacheGBps(t.dir, 4);
    expect(Number.isFinite(rate)).toBe(true);
    expect(rate).toBeGreaterThan(0);
    expect(await readdir(t.dir)).toEqual(['kept']);
  });

  it('refuses to write over a file already at its name, and leaves that file alone', async () => {
    const taken = join(t.dir, `fresh-pages-${process.pid}`);
    await writeFile(taken, 'theirs');
    await expect(freshPageCacheGBps(t.dir, 1)).rejects.toMatchObject({ code: 'EEXIST' });
    expect((await readdir(t.dir)).sort()).toEqual(['fresh-pages-' + String(process.pid), 'kept']);
  });
});
