// How a fetch creates its objects' files (src/fetch/new-files.ts): a batch per message on a worker thread,
// reading shared memory; without threads, through libuv's pool for a network fetch, synchronous steps for a
// local one; and, for a network fetch that writes its packs inline (pack-splitter-inline.ts), synchronous
// steps too. Each on a real disk.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inlineFsOpRunner, threadFsOpRunner, type FsOpRunner } from '../../src/fetch/fs-op-runner.js';
import { newFilesOn } from '../../src/fetch/new-files.js';
import { TEMP_MODE } from '../../src/fetch/write-temps.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

describe.each([
  { name: 'through libuv\'s pool', make: (): FsOpRunner => inlineFsOpRunner(), network: true, shared: false, inline: false },
  { name: 'in synchronous steps', make: (): FsOpRunner => inlineFsOpRunner(), network: false, shared: false, inline: false },
  { name: 'on a worker thread', make: (): FsOpRunner => threadFsOpRunner(1), network: true, shared: true, inline: false },
  { name: 'inline, for a fetch that writes its packs as they arrive', make: (): FsOpRunner => inlineFsOpRunner(true), network: true, shared: false, inline: true },
])('new files $name', ({ make, network, shared, inline }) => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let ops: FsOpRunner;
  beforeAll(async () => {
    t = await makeTempDir();
    ops = make();
  });
  afterAll(async () => {
    await ops.close();
    await t.cleanup();
  });
  const bytes = (n: number, seed: number): Buffer => {
    const b = shared ? Buffer.from(new SharedArrayBuffer(n)) : Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
    return b;
  };

  it('says whether its bytes are read on another thread, and whether packs write inline', () => {
    expect(newFilesOn(ops, network, inline).shared).toBe(shared);
    expect(newFilesOn(ops, network, inline).inline).toBe(inline);
  });

  it('writes a batch of new files with the temp mode, and a file from pieces', async () => {
    const files = newFilesOn(ops, network, inline);
    const items = [0, 1, 2].map((i) => ({ tmp: join(t.dir, `batch-${i}`), data: bytes(1000 + i, i) }));
    await files.write(items);
    for (const it of items) {
      expect((await readFile(it.tmp)).equals(Buffer.from(it.data))).toBe(true);
      expect((await stat(it.tmp)).mode & 0o777).toBe(TEMP_MODE);
    }
    const whole = bytes(700_000, 9);
    const path = join(t.dir, 'pieces');
    await files.writeAt(path, whole.subarray(0, 300_000), 0);
    await files.writeAt(path, whole.subarray(300_000), 300_000);
    expect((await readFile(path)).equals(whole)).toBe(true);
  });

  it('a batch that meets an existing name fails and leaves none of its files', async () => {
    const files = newFilesOn(ops, network, inline);
    await writeFile(join(t.dir, 'taken'), 'mine');
    const items = ['fail-a', 'taken', 'fail-b'].map((name, i) => ({ tmp: join(t.dir, name), data: bytes(100, i) }));
    await expect(files.write(items)).rejects.toMatchObject({ code: 'EEXIST' });
    const left = await readdir(t.dir);
    expect(left.filter((n) => n.startsWith('fail-'))).toEqual([]);
    await expect(files.writeAt(join(t.dir, 'batch-0'), bytes(10, 1), 0)).rejects.toMatchObject({ code: 'EEXIST' });
  });
});
