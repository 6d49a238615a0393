// Objects of 64 KiB or more that arrive over the network are written with O_DIRECT by the filesystem
// worker, when asked to (FLOTILLA_DIRECT_WRITES=1): byte-identical, only their unaligned edges left in the page cache (fincore shows it), and back to
// ordinary writes when the kernel refuses a direct one. Real files in the test's temp dir.
import * as crypto from 'node:crypto';
import { randomBytes, randomFillSync } from 'node:crypto';
import * as fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { threadFsOpRunner, throwIfFailed } from '../../src/fetch/fs-op-runner.js';
import { runFsOps, type FsOp } from '../../src/fetch/fs-ops.js';
import { alignedSlots } from '../../src/nix/direct-writer.js';
import { pageAlignedBuffer } from '../../src/util/page-aligned.js';
import { withDirectWrites } from '../helpers/direct-writes.js';
import { residentBytes } from '../helpers/page-cache.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

const PAGE = 4096;
let t: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  t = await makeTempDir();
});
afterEach(async () => {
  await t.cleanup();
});

const run = (ops: FsOp[], aligned?: Buffer): void => {
  for (const r of runFsOps(fs, crypto, ops, Buffer.alloc(1 << 20), false, aligned)) if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
};

describe('large writes straight to the disk', () => {
  it('write: the file is byte-identical and only its last partial block is in the page cache', async () => {
    const dest = join(t.dir, 'obj');
    const data = randomBytes(1024 * 1024 + 5);
    run([{ op: 'write', dest, data, mode: 0o444 }], alignedSlots(1)[0]);
    // Before reading it back, which brings it into the cache.
    expect(residentBytes(dest)).toBeLessThanOrEqual(PAGE);
    expect((await readFile(dest)).equals(data)).toBe(true);
    expect(fs.statSync(dest).mode & 0o777).toBe(0o444);
  });

  it('without aligned memory, or under 64 KiB, it goes through the page cache as before', () => {
    const big = join(t.dir, 'big');
    const small = join(t.dir, 'small');
    run([{ op: 'write', dest: big, data: randomBytes(1024 * 1024), mode: 0o444 }]);
    run([{ op: 'write', dest: small, data: randomBytes(60 * 1024), mode: 0o444 }], alignedSlots(1)[0]);
    expect(residentBytes(big)).toBe(1024 * 1024);
    expect(residentBytes(small)).toBe(60 * 1024);
  });

  it('writeAt: pieces at unaligned offsets make the whole file, and only the blocks across their edges are cached', async () => {
    const path = join(t.dir, 'pieces');
    const data = randomBytes(3 * 1024 * 1024 + 123);
    const cuts = [0, 100_003, 400_000, 1_500_001, data.length];
    const aligned = alignedSlots(1)[0];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const [from, to] = [cuts[i] as number, cuts[i + 1] as number];
      run([{ op: 'writeAt', path, data: data.subarray(from, to), pos: from, create: from === 0, mode: 0o444 }], aligned);
    }
    // Each of the three inner cuts splits a block, written through the cache from both sides, and the
    // last block is partial.
    expect(residentBytes(path)).toBeLessThanOrEqual(4 * PAGE);
    expect((await readFile(path)).equals(data)).toBe(true);
  });

  it('falls back to ordinary writes when the kernel refuses a direct one (misaligned memory: EINVAL)', async () => {
    const dest = join(t.dir, 'obj');
    const data = randomBytes(512 * 1024 + 9);
    const misaligned = Buffer.alloc(1024 * 1024 + 1).subarray(1);
    run([{ op: 'write', dest, data, mode: 0o444 }], misaligned);
    expect((await readFile(dest)).equals(data)).toBe(true);
  });

  it('shared data already on page boundaries goes to the disk from where it lies, not through the aligned copy', async () => {
    // `aligned` is misaligned here, so a block copied through it would be refused (EINVAL) and land in the
    // page cache: only a write straight from the data keeps the file out of it.
    const misaligned = Buffer.alloc(1024 * 1024 + 1).subarray(1);
    const whole = join(t.dir, 'whole');
    const data = randomFillSync(pageAlignedBuffer(2 * 1024 * 1024, true).subarray(0, 2 * 1024 * 1024 - 100));
    run([{ op: 'write', dest: whole, data, mode: 0o444 }], misaligned);
    expect(residentBytes(whole)).toBeLessThanOrEqual(PAGE);
    expect((await readFile(whole)).equals(data)).toBe(true);
    // A piece whose place in memory and in the file agree modulo a block: its head edge goes through the
    // cache, its blocks from memory.
    const pieces = join(t.dir, 'pieces');
    run([{ op: 'writeAt', path: pieces, data: data.subarray(0, 100), pos: 0, create: true, mode: 0o444, last: false }]);
    run([{ op: 'writeAt', path: pieces, data: data.subarray(100), pos: 100, create: false, mode: 0o444 }], misaligned);
    expect(residentBytes(pieces)).toBeLessThanOrEqual(2 * PAGE);
    expect((await readFile(pieces)).equals(data)).toBe(true);
  });

  it.each([
    { env: '1', direct: true },
    { env: undefined, direct: false },
  ])('the worker threads write with it only when asked to (FLOTILLA_DIRECT_WRITES=$env)', async ({ env, direct }) => {
    const ops = await withDirectWrites(env === '1', () => Promise.resolve(threadFsOpRunner(1)));
    try {
      expect(ops.direct).toBe(direct);
      const dest = join(t.dir, 'obj');
      const data = randomBytes(2 * 1024 * 1024);
      throwIfFailed(await ops.run([{ op: 'write', dest, data, mode: 0o444 }]));
      expect(residentBytes(dest)).toBe(direct ? 0 : data.length);
      expect((await readFile(dest)).equals(data)).toBe(true);
    } finally {
      await ops.close();
    }
  });
});
