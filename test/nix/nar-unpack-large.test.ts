// A large file in a NAR is written behind the parser (through the page cache, or straight to the disk when
// asked to), never more than a bounded amount behind it, and a
// write that fails after the parser went on still fails the unpack (a real 4 MiB tmpfs: we run as root).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { parseNar } from '../../src/nix/index.js';
import { createUnpackSink } from '../../src/nix/nar-unpack.js';
import { dir, entry, file, nar } from '../helpers/nar-bytes.js';
import { withDirectWrites } from '../helpers/direct-writes.js';
import { residentBytes } from '../helpers/page-cache.js';
import { fillFilesystem, mountTmpfs } from '../helpers/tmpfs.js';

const MiB = 1024 * 1024;

/** `b` in 64 KiB chunks, calling `seen(bytesSoFar)` before each. */
function source(b: Buffer, seen: (n: number) => void = () => undefined): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < b.length; i += 64 * 1024) {
        seen(i);
        yield b.subarray(i, i + 64 * 1024);
      }
    })(),
  );
}

describe('unpacking a large file', () => {
  it.each([
    { direct: false, how: 'through the page cache (the default)' },
    { direct: true, how: 'with O_DIRECT (FLOTILLA_DIRECT_WRITES=1)' },
  ])('writes it $how, byte-identical with the parser never more than 2 MiB (and a batch) ahead of the disk, then the files after it', async ({ direct }) => {
    const tmp = await mkdtemp(join(tmpdir(), 'flotilla-nar-large-'));
    try {
      const big = randomBytes(24 * MiB + 13);
      const archive = nar(...dir(entry('big', file(big)), entry('small', file('after'))));
      const offset = archive.indexOf(big.subarray(0, 64));
      const out = join(tmp, 'p');
      let most = 0;
      const sink = createUnpackSink(out, '/nix/store/x');
      await withDirectWrites(direct, async () => {
        await parseNar(
          source(archive, (n) => {
            if (n < offset || n > offset + big.length) return;
            let onDisk = 0;
            try {
              onDisk = statSync(join(out, 'big')).size;
            } catch {
              // not created yet
            }
            most = Math.max(most, n - offset - onDisk);
          }),
          sink,
          '/nix/store/x',
        );
        await sink.finish();
      });
      expect(most).toBeLessThanOrEqual(4 * MiB);
      // With O_DIRECT (direct-writer.ts) of its blocks only the last, partial one went through the cache;
      // else all of them did (checked before reading it back, which brings it in).
      if (direct) expect(residentBytes(join(out, 'big'))).toBeLessThanOrEqual(4096);
      else expect(residentBytes(join(out, 'big'))).toBe(big.length + 4096 - (big.length % 4096));
      expect((await readFile(join(out, 'big'))).equals(big)).toBe(true);
      expect(await readFile(join(out, 'small'), 'utf8')).toBe('after');
      expect(statSync(join(out, 'big')).mode & 0o777).toBe(0o444);
      expect(statSync(join(out, 'big')).mtimeMs).toBe(1000);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('reuses its batch buffers once written: three 8 MiB files take a few fresh ones, not one per batch', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'flotilla-nar-batches-'));
    const fresh = vi.spyOn(Buffer, 'allocUnsafeSlow');
    try {
      const bigs = [randomBytes(8 * MiB + 5), randomBytes(8 * MiB), randomBytes(8 * MiB - 7)];
      const names = ['a', 'b', 'c'];
      const out = join(tmp, 'p');
      const sink = createUnpackSink(out, '/nix/store/x');
      fresh.mockClear();
      await parseNar(source(nar(...dir(...bigs.map((b, i) => entry(names[i] as string, file(b)))))), sink, '/nix/store/x');
      await sink.finish();
      const batchSized = fresh.mock.calls.filter(([n]) => n === 256 * 1024).length;
      // 24 MiB in batches of 256 KiB: 96 fresh buffers without reuse. With it, those in use at once (2 MiB
      // behind the parser, one filling: ten), twice where a file's last writes overlap the next file's first.
      expect(batchSized).toBeGreaterThan(0);
      expect(batchSized).toBeLessThanOrEqual(20);
      for (const [i, b] of bigs.entries()) expect((await readFile(join(out, names[i] as string))).equals(b)).toBe(true);
    } finally {
      fresh.mockRestore();
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('fails when the disk fills during its last writes, after the parser reached the end', async () => {
    const fs = await mountTmpfs('4m');
    try {
      await fillFilesystem(fs.dir, 512 * 1024);
      const out = join(fs.dir, 'p');
      const sink = createUnpackSink(out, '/nix/store/x');
      // 1.5 MiB: a large file, all of it within the write-behind, so the parse ends before the writes fail.
      await parseNar(source(nar(...file(randomBytes(1.5 * MiB)))), sink, '/nix/store/x');
      await expect(sink.finish()).rejects.toThrow(/ENOSPC/);
    } finally {
      await fs.cleanup();
    }
  });

  it('stops the parse when a write fails while the file is still being read', async () => {
    const fs = await mountTmpfs('4m');
    try {
      const sink = createUnpackSink(join(fs.dir, 'p'), '/nix/store/x');
      await expect(parseNar(source(nar(...file(randomBytes(12 * MiB)))), sink, '/nix/store/x')).rejects.toThrow(/ENOSPC/);
      await sink.settle();
    } finally {
      await fs.cleanup();
    }
  });

  it('stops the parse at the small file that meets a full disk (small files are written as they end)', async () => {
    const fs = await mountTmpfs('4m');
    try {
      await fillFilesystem(fs.dir, 256 * 1024);
      const out = join(fs.dir, 'p');
      const sink = createUnpackSink(out, '/nix/store/x');
      const names = Array.from({ length: 8 }, (_, i) => `f${i}`);
      const archive = nar(...dir(...names.map((n) => entry(n, file(randomBytes(100 * 1024))))));
      await expect(parseNar(source(archive), sink, '/nix/store/x')).rejects.toThrow(/ENOSPC/);
      await sink.settle();
      // The files written before the disk filled are whole, and the parse did not go on to all eight.
      expect(sink.files.length).toBeLessThan(names.length);
      for (const f of sink.files) expect(statSync(f).size).toBe(100 * 1024);
    } finally {
      await fs.cleanup();
    }
  });
});
