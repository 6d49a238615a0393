// A NAR read through one reused buffer (an uncompressed NAR over plain HTTP: store.readInto) unpacks
// byte-identical: the buffer is scribbled over the moment the parser pulls the next chunk, so any file
// whose bytes were kept as views of an earlier chunk, rather than copied, would come out wrong. Small files
// on this thread, small files handed to a filesystem thread, large files with O_DIRECT, and large files
// without it (ramfs refuses O_DIRECT: the batched writes behind the parser).
import { randomBytes } from 'node:crypto';
import { lstat, mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { threadFsOpRunner } from '../../src/fetch/fs-op-runner.js';
import { narFileWriters } from '../../src/fetch/nar-file-writer.js';
import { parseNar } from '../../src/nix/index.js';
import { createUnpackSink, type NarFileWriter } from '../../src/nix/nar-unpack.js';
import { dir, entry, file, nar } from '../helpers/nar-bytes.js';
import { mountRamfs } from '../helpers/tmpfs.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Odd, so files and strings straddle chunks at every alignment. */
const CHUNK = 4093;

/** `archive` through one buffer of CHUNK bytes, overwritten with 0xEE as soon as the next chunk is pulled. */
async function* reused(archive: Buffer): AsyncGenerator<Buffer> {
  const buf = Buffer.alloc(CHUNK);
  for (let at = 0; at < archive.length; at += CHUNK) {
    buf.fill(0xee);
    const n = archive.copy(buf, 0, at, at + CHUNK);
    // As a socket's reads do, each chunk comes after a turn of the event loop.
    yield await new Promise<Buffer>((r) => setImmediate(() => r(buf.subarray(0, n))));
  }
  buf.fill(0xee);
}

// Sizes around the chunk, the filesystem thread's direct writes (64 KiB), the small-file limit (1 MiB)
// and past it; one executable, one symlink, one nested directory.
const SIZES = [0, 1, 100, CHUNK - 1, CHUNK + 1, 9000, 64 * KiB, 70_001, 300_000, MiB, MiB + 1, Math.floor(2.5 * MiB) + 7, 5];
const contents = SIZES.map((n) => randomBytes(n));
const name = (i: number): string => `f${String(i).padStart(2, '0')}`;
const archive = nar(
  ...dir(
    ...contents.map((c, i) => entry(name(i), file(c))),
    entry('g', ['(', 'type', 'regular', 'executable', '', 'contents', Buffer.from('#!/bin/sh\nexit 0\n'), ')']),
    entry('link', ['(', 'type', 'symlink', 'target', '../elsewhere', ')']),
    entry('sub', dir(entry('inner', file(randomBytes(20_000))))),
  ),
);

async function unpackAndCompare(under: string, writer?: NarFileWriter): Promise<void> {
  const out = join(under, 'p');
  const sink = createUnpackSink(out, '/nix/store/x', writer);
  await parseNar(reused(archive), sink, '/nix/store/x');
  await sink.finish();
  for (const [i, c] of contents.entries()) expect((await readFile(join(out, name(i)))).equals(c), `${name(i)}: ${c.length} bytes`).toBe(true);
  expect(await readFile(join(out, 'g'), 'utf8')).toBe('#!/bin/sh\nexit 0\n');
  expect((await lstat(join(out, 'g'))).mode & 0o777).toBe(0o555);
  expect(await readlink(join(out, 'link'))).toBe('../elsewhere');
  expect((await readFile(join(out, 'sub/inner'))).length).toBe(20_000);
}

describe('a NAR read through one reused buffer', () => {
  it('unpacks byte-identical, small files written on this thread and large ones with O_DIRECT', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'flotilla-nar-reused-'));
    try {
      await unpackAndCompare(tmp);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('unpacks byte-identical with every small file handed to a filesystem thread', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'flotilla-nar-reused-'));
    const runner = threadFsOpRunner(1);
    try {
      const writer = narFileWriters(runner, -1).forNar();
      expect(writer.wants(CHUNK + 1)).toBe(true);
      await unpackAndCompare(tmp, writer);
    } finally {
      await runner.close();
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('unpacks byte-identical on a filesystem without O_DIRECT (ramfs), large files batched behind the parser', async () => {
    const fs = await mountRamfs();
    try {
      await unpackAndCompare(fs.dir);
    } finally {
      await fs.cleanup();
    }
  });
});
