// Direct writes 'auto', the default (src/util/direct-writes.ts): a large file starts through the page
// cache, each write timed for the process's judge (src/util/page-cache-judge.ts); once the judge finds the
// cache slow, the rest of the file goes straight to the disk from where the cached writes end, and every
// large file after it from its start. In a file of its own: the judge's verdict holds for the process.
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
import { dir, entry, file, nar } from '../helpers/nar-bytes.js';
import { residentBytes } from '../helpers/page-cache.js';

const MiB = 1024 * 1024;

describe('unpacking large files with direct writes auto', () => {
  it('turns to direct writes mid-file once the judge finds the page cache slow, and stays with them', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'flotilla-nar-auto-'));
    try {
      await withDirectWritesAuto(async () => {
        const first = randomBytes(24 * MiB + 13);
        const second = randomBytes(6 * MiB + 5);
        const archive = nar(...dir(entry('a', file(first)), entry('b', file(second)), entry('small', file('after'))));
        const offset = archive.indexOf(first.subarray(0, 64));
        // The judge is told of eight slow writes once the parser is 8 MiB into the first file: as the host's
        // own writes would, were each fresh page to fault into the host.
        const FLIP_AT = offset + 8 * MiB;
        const out = join(tmp, 'p');
        const sink = createUnpackSink(out, '/nix/store/x');
        const chunks = (function* () {
          for (let i = 0; i < archive.length; i += 64 * 1024) {
            if (i >= FLIP_AT && !pageCacheJudge.slow()) for (let k = 0; k < 8; k++) pageCacheJudge.note(256 * 1024, 5);
            yield archive.subarray(i, i + 64 * 1024);
          }
        })();
        await parseNar(Readable.from(chunks), sink, '/nix/store/x');
        await sink.finish();
        expect(pageCacheJudge.slow()).toBe(true);
        // Through the cache: at least the judge's first window (2 MiB), at most what the parser had given by
        // the flip (8 MiB, plus the write-behind); the rest went around it.
        const cached = residentBytes(join(out, 'a'));
        expect(cached).toBeGreaterThanOrEqual(2 * MiB);
        expect(cached).toBeLessThanOrEqual(8 * MiB + 3 * MiB);
        // The file after the verdict: straight to the disk from its start, but for its last partial block.
        expect(residentBytes(join(out, 'b'))).toBeLessThanOrEqual(4096);
        expect((await readFile(join(out, 'a'))).equals(first)).toBe(true);
        expect((await readFile(join(out, 'b'))).equals(second)).toBe(true);
        expect(await readFile(join(out, 'small'), 'utf8')).toBe('after');
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
