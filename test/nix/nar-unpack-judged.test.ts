// Direct writes 'auto', the default (src/util/direct-writes.ts): the writes the judge times
// (src/util/page-cache-judge.ts) are those it samples, each made on the writing thread and timed around
// the call, so the thread's other work between writes does not enter the rate. In a file of
// its own: the judge's verdict holds for the process.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseNar } from '../../src/nix/index.js';
import { createUnpackSink } from '../../src/nix/nar-unpack.js';
import { pageCacheJudge } from '../../src/util/page-cache-judge.js';
import { withDirectWritesAuto } from '../helpers/direct-writes.js';
import { withJudgeNotes } from '../helpers/judge-notes.js';
import { file, nar } from '../helpers/nar-bytes.js';

const MiB = 1024 * 1024;
/**
 * Long beside a 256 KiB write (~0.1 ms, ~0.6 with pages faulting into the host), and beside the time slice
 * another process may take from this thread on a loaded machine.
 */
const BUSY_MS = 20;

describe('the page cache judged from the writes themselves', () => {
  it('times the writes the judge samples on the writing thread: a thread busy between writes does not make the cache look slow', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'flotilla-nar-judged-'));
    try {
      const noted = await withDirectWritesAuto(() =>
        withJudgeNotes(async (noted) => {
          // 64 batches of 256 KiB and a partial one.
          const contents = randomBytes(16 * MiB + 7);
          const archive = nar(...file(contents));
          // The thread is held BUSY_MS before every 256 KiB given, as a cold fetch's parsing and hashing hold it:
          // a write timed until this thread runs its callback would be timed with that wait in it.
          const chunks = (function* () {
            for (let i = 0; i < archive.length; i += 64 * 1024) {
              if (i % (256 * 1024) === 0) for (const until = performance.now() + BUSY_MS; performance.now() < until; );
              yield archive.subarray(i, i + 64 * 1024);
            }
          })();
          const out = join(tmp, 'p');
          const sink = createUnpackSink(out, '/nix/store/x');
          await parseNar(Readable.from(chunks), sink, '/nix/store/x');
          await sink.finish();
          expect((await readFile(out)).equals(contents)).toBe(true);
          return noted.map((w) => w.ms);
        }),
      );
      // The judge's samples of the 64 full writes: the first 8, then one in 8 (15 in all), or fewer where
      // this host's cache was found slow on the way (its verdict needs 8); each timed as the write alone.
      if (pageCacheJudge.slow()) {
        expect(noted.length).toBeGreaterThanOrEqual(8);
        expect(noted.length).toBeLessThanOrEqual(15);
      } else {
        expect(noted).toHaveLength(15);
      }
      expect(Math.max(...noted)).toBeLessThan(BUSY_MS);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
