// The committer starts an early writeback (`sync -f` on the cache's filesystem) every WRITEBACK_BYTES (16 MiB) of bytes
// queued, so the flush before the renames finds little left; bytes already written with O_DIRECT start
// none: the page cache holds none of them, and each flush forks the fetching process. A `sync` first on
// PATH logs each run and then runs the real one, so the flushes counted here are real processes.
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBatchCommitter } from '../../src/fetch/batch-commit.js';
import { inlineFsOpRunner } from '../../src/fetch/fs-op-runner.js';
import { openObjectCache, type ObjectCache } from '../../src/fetch/object-cache.js';
import { hashBytes } from '../../src/packages/manifest-codec.js';
import { WRITEBACK_BYTES } from '../../src/util/early-writeback.js';
import { waitFor } from '../helpers/fleet.js';
import { flushShellsFor } from '../helpers/flush-shells.js';
import { loggingSync, type LoggingSync } from '../helpers/logging-sync.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

// Four objects of 0.3 × WRITEBACK_BYTES: the fourth crosses the threshold once.
const EACH = Math.ceil(WRITEBACK_BYTES * 0.3);
let t: { dir: string; cleanup: () => Promise<void> };
let cache: ObjectCache;
let sync: LoggingSync;
beforeEach(async () => {
  t = await makeTempDir();
  cache = await openObjectCache(join(t.dir, 'state'));
  sync = await loggingSync(t.dir);
});
afterEach(async () => {
  sync.restore();
  await t.cleanup();
});

const flushes = async (): Promise<number> => (await sync.lines()).filter((l) => l.startsWith('-f ')).length;
const settled = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 300));

/** A verified temp file in the cache; the committer is told it wrote `claimed` bytes. */
async function temp(n: number): Promise<{ tmp: string; digest: ReturnType<typeof hashBytes> }> {
  const bytes = Buffer.from(`object ${n}`);
  const digest = hashBytes(bytes);
  const tmp = cache.tempPath(digest);
  await writeFile(tmp, bytes);
  return { tmp, digest };
}

describe('batch committer: early writeback', () => {
  it.each([
    { direct: true, what: 'written with O_DIRECT start no flush before the one that commits them', early: 0 },
    { direct: false, what: 'through the page cache start one early flush, then the committing one', early: 1 },
  ])('1.2 × WRITEBACK_BYTES $what', async ({ direct, early }) => {
    const c = createBatchCommitter(cache, true, inlineFsOpRunner());
    for (let i = 0; i < 4; i++) {
      const { tmp, digest } = await temp(i);
      await c.add(tmp, digest, EACH, false, EACH, direct);
    }
    await settled();
    expect(await flushes()).toBe(early);
    await c.finish();
    expect(await flushes()).toBe(early + 1);
    // The early flushes' shell ends with the batch.
    expect(await waitFor(async () => (await flushShellsFor(cache.tmpDir)) === 0, 2_000, 10)).toBe(true);
  });
});

describe('batch committer: the last flush', () => {
  it('runs in the early flushes\' shell, not in a fork of the fetch, and the shell ends after it', async () => {
    sync.restore();
    sync = await loggingSync(t.dir, 'echo "$* by $(cat /proc/$PPID/comm)" >> LOG\nexec /usr/bin/sync "$@"\n');
    const c = createBatchCommitter(cache, true, inlineFsOpRunner());
    for (let i = 0; i < 4; i++) {
      const { tmp, digest } = await temp(i);
      await c.add(tmp, digest, EACH, false, EACH, false);
    }
    await settled();
    await c.finish();
    expect(await sync.lines()).toEqual([`-f ${cache.tmpDir} by sh`, `-f ${cache.tmpDir} by sh`]);
    expect(await waitFor(async () => (await flushShellsFor(cache.tmpDir)) === 0, 2_000, 10)).toBe(true);
  });
});

describe('batch committer: what an early flush put on disk is named while the last flush runs', () => {
  // The second `sync` run (the committing flush) takes a second; the first (the early one) is quick, or
  // fails when `early` says so.
  const slowSecond = (early: 'ok' | 'fails'): string =>
    `n=$(wc -l < LOG)\necho "$*" >> LOG\nif [ "$n" -ge 1 ]; then sleep 1; exec /usr/bin/sync "$@"; fi\n${early === 'ok' ? 'exec /usr/bin/sync "$@"' : 'exit 1'}\n`;
  const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

  it.each([
    { early: 'ok' as const, what: 'an early flush that succeeded: its objects are named before the last flush ends, the others after', namedEarly: true },
    { early: 'fails' as const, what: 'an early flush that failed: nothing is named before the last flush ends', namedEarly: false },
  ])('$what', async ({ early, namedEarly }) => {
    sync.restore();
    sync = await loggingSync(t.dir, slowSecond(early));
    const c = createBatchCommitter(cache, true, inlineFsOpRunner(true));
    const a = await temp(1);
    void c.add(a.tmp, a.digest, WRITEBACK_BYTES, false, WRITEBACK_BYTES); // starts the early flush
    await settled();
    const b = await temp(2);
    void c.add(b.tmp, b.digest, 10, false, 10);
    let done = false;
    const finishing = c.finish().then(() => void (done = true));
    const aNamed = await waitFor(() => exists(cache.path(a.digest)), 700, 10);
    expect(done).toBe(false); // the last flush is still running
    expect(aNamed).toBe(namedEarly);
    expect(await exists(cache.path(b.digest))).toBe(false);
    await finishing;
    expect(await exists(cache.path(a.digest))).toBe(true);
    expect(await exists(cache.path(b.digest))).toBe(true);
    expect(await flushes()).toBe(2);
  });

  it('an early flush that ends after its batch was committed vouches for nothing in the next batch', async () => {
    // Runs: the early flush (0.5 s), the full batch's own flush (at once), the last flush (1 s).
    sync.restore();
    sync = await loggingSync(t.dir, 'n=$(wc -l < LOG)\necho "$*" >> LOG\n[ "$n" -eq 0 ] && sleep 0.5\n[ "$n" -ge 2 ] && sleep 1\nexec /usr/bin/sync "$@"\n');
    // A batch of WRITEBACK_BYTES + 16: the second object fills it, and too few bytes follow the early flush
    // for another to start.
    const c = createBatchCommitter(cache, true, inlineFsOpRunner(true), new Map(), WRITEBACK_BYTES + 16);
    const a = await temp(1);
    void c.add(a.tmp, a.digest, WRITEBACK_BYTES, false, WRITEBACK_BYTES); // starts the early flush
    const b = await temp(2);
    await c.add(b.tmp, b.digest, 16, false, 16); // fills the batch: committed
    expect(await exists(cache.path(b.digest))).toBe(true);
    const next = await temp(3);
    void c.add(next.tmp, next.digest, 10, false, 10);
    await new Promise((r) => setTimeout(r, 700)); // the early flush has ended, successfully
    let done = false;
    const finishing = c.finish().then(() => void (done = true));
    const namedEarly = await waitFor(() => exists(cache.path(next.digest)), 700, 10);
    expect(done).toBe(false);
    expect(namedEarly).toBe(false);
    await finishing;
    expect(await exists(cache.path(next.digest))).toBe(true);
    expect(await flushes()).toBe(3);
  });
});
