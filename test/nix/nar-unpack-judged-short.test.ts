// A large file's last batch is short: its write is mostly the call's fixed cost, so the judge
// (src/util/page-cache-judge.ts) must not be told of it, or 7 bytes in a few microseconds would read as a
// slow cache. In a file of its own: the judge's count of writes and its verdict hold for the process, and
// here the short batch is the process's eighth write, one the judge would always sample.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseNar } from '../../src/nix/index.js';
import { createUnpackSink } from '../../src/nix/nar-unpack.js';
import { pageCacheJudge } from '../../src/util/page-cache-judge.js';
import { withDirectWritesAuto } from '../helpers/direct-writes.js';
import { withJudgeNotes } from '../helpers/judge-notes.js';
import { file, nar } from '../helpers/nar-bytes.js';

const BATCH = 256 * 1024;

describe("a large file's short last batch", () => {
  it('is written but not shown to the judge: only full batches are timed', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'flotilla-nar-judged-short-'));
    try {
      // Seven full batches (a large file: over 1 MiB) and a short eighth.
      const contents = randomBytes(7 * BATCH + 7);
      const out = join(tmp, 'p');
      const noted = await withDirectWritesAuto(() =>
        withJudgeNotes(async (noted) => {
          const sink = createUnpackSink(out, '/nix/store/x');
          await parseNar(Readable.from([nar(...file(contents))]), sink, '/nix/store/x');
          await sink.finish();
          return noted.map((w) => w.bytes);
        }),
      );
      expect((await readFile(out)).equals(contents)).toBe(true);
      // Under the judge's window of 8, so no verdict could stop its sampling: each full batch is noted.
      expect(noted).toEqual(Array.from({ length: 7 }, () => BATCH));
      expect(pageCacheJudge.slow()).toBe(false);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
