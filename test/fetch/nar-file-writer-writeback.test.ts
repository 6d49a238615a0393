// The early writeback (util/early-writeback.ts) as a Nix fetch drives it: every so many bytes written through
// the page cache, by the small-file thread or by a NAR's sink itself (its large files), one `sync -f` starts
// in the background, at most one at a time; bytes a thread wrote with O_DIRECT count for nothing. A `sync` first on PATH logs each run and
// then runs the real one, so the flushes counted here are real processes; the threads and files are real.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { threadFsOpRunner } from '../../src/fetch/fs-op-runner.js';
import { HAND_OVER_FROM, narFileWriters } from '../../src/fetch/nar-file-writer.js';
import { parseNar } from '../../src/nix/index.js';
import { createUnpackSink } from '../../src/nix/nar-unpack.js';
import { earlyWriteback } from '../../src/util/early-writeback.js';
import { loggingSync, type LoggingSync } from '../helpers/logging-sync.js';
import { dir as dirEntries, entry, file, nar } from '../helpers/nar-bytes.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

const MIB = 1024 * 1024;
let t: { dir: string; cleanup: () => Promise<void> };
let sync: LoggingSync;
beforeEach(async () => {
  t = await makeTempDir();
  // Slow enough that a second flush asked for while the first runs would overlap it, were that allowed.
  sync = await loggingSync(t.dir, 'echo "start $*" >> LOG\nsleep 0.2\n/usr/bin/sync "$@"\necho "end $*" >> LOG\n');
});
afterEach(async () => {
  sync.restore();
  await t.cleanup();
});

const lines = (): Promise<string[]> => sync.lines();
const settled = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 600));

/** Writes `count` files of `size` bytes through a NAR's writer on a thread (direct or not), every `every` bytes a flush. */
async function writeFiles(count: number, size: number, direct: boolean, every: number): Promise<void> {
  const dir = join(t.dir, 'out');
  await mkdir(dir, { recursive: true });
  const runner = threadFsOpRunner(1, direct);
  try {
    const w = narFileWriters(runner, -1, earlyWriteback(dir, every)).forNar();
    for (let i = 0; i < count; i++) await w.add(join(dir, `f${direct ? 'd' : 'c'}${i}`), 0o444, 1, [randomBytes(size)], size);
    await w.end();
  } finally {
    await runner.close();
  }
  await settled();
}

describe("a Nix fetch's small files: early writeback", () => {
  it('every 2 MiB written through the page cache starts one flush of the filesystem, never two at once', async () => {
    await writeFiles(24, 512 * 1024, false, 2 * MIB);
    const l = await lines();
    const starts = l.filter((x) => x.startsWith('start -f '));
    expect(starts.length).toBeGreaterThanOrEqual(1);
    // 12 MiB in all: at most six flushes, fewer when one still ran as the next 2 MiB were written.
    expect(starts.length).toBeLessThanOrEqual(6);
    expect(starts[0]).toBe(`start -f ${join(t.dir, 'out')}`);
    // Each start is followed by its end before the next start.
    l.forEach((x, i) => expect(x.startsWith(i % 2 === 0 ? 'start' : 'end'), `line ${i}: ${x}`).toBe(true));
  });

  /** Unpacks a NAR of `entries` through a real sink whose writer counts toward a flush every 2 MiB; the flushes started. */
  async function unpackCounting(entries: Array<ReturnType<typeof entry>>): Promise<number> {
    const dir = join(t.dir, 'nar');
    await mkdir(dir);
    const runner = threadFsOpRunner(1, false);
    try {
      // Small files under the hand-over mark stay with the sink; a large file goes in batches behind the parser.
      const writer = narFileWriters(runner, HAND_OVER_FROM, earlyWriteback(dir, 2 * MIB)).forNar();
      const sink = createUnpackSink(join(dir, 'p'), '/nix/store/x', writer);
      await parseNar(Readable.from([nar(...dirEntries(...entries))]), sink, '/nix/store/x');
      await sink.finish();
    } finally {
      await runner.close();
    }
    await settled();
    return (await lines()).filter((x) => x.startsWith('start -f ')).length;
  }

  it("a NAR's large file, written by its sink itself, counts too: its writeback starts while it arrives", async () => {
    expect(await unpackCounting([entry('big', file(randomBytes(6 * MIB))), entry('small', file('tiny'))])).toBeGreaterThanOrEqual(1);
  });

  it('so do the small files the sink writes itself, before the thread takes them over', async () => {
    // Six of 512 KiB: 3 MiB, under HAND_OVER_FROM (4 MiB), so none goes to the thread.
    expect(await unpackCounting(Array.from({ length: 6 }, (_, i) => entry(`s${i}`, file(randomBytes(512 * 1024)))))).toBeGreaterThanOrEqual(1);
  });

  it('bytes written with O_DIRECT start none', async () => {
    await writeFiles(24, 512 * 1024, true, 2 * MIB);
    expect(await lines()).toEqual([]);
  });
});
