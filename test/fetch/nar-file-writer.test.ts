// A NAR's small files written by the filesystem threads (nar-file-writer.ts): real threads and files, then a
// closure built and published by real Nix materialised through them, compared byte for byte with
// `nix-store --dump` of the original, with Nix's modes and mtime.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, lstat, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { threadFsOpRunner } from '../../src/fetch/fs-op-runner.js';
import { HAND_OVER_FROM, narFileWriters } from '../../src/fetch/nar-file-writer.js';
import { materialiseNixClosure, openNixCache, parseNixPublicKey, resolveNixClosure, type NixTrustPolicy } from '../../src/nix/index.js';
import { residentBytes } from '../helpers/page-cache.js';
import { buildNixClosure, nixDump, publishNixCache, type NixClosureFixture } from '../helpers/nix-closure.js';
import { makeScratch, type Scratch } from '../../scripts/world/tools.js';

let scratch: Scratch;
let n = 0;
const fresh = async (): Promise<string> => {
  const d = join(scratch.path, `d${n++}`);
  await mkdir(d);
  return d;
};
const always = -1;

beforeAll(async () => {
  scratch = await makeScratch('nar-file-writer');
});
afterAll(() => scratch.cleanup());

describe('the small files of a NAR, on the filesystem threads', () => {
  it('each file gets its bytes, exactly its mode (whatever the umask) and mtime; on threads that write directly, from 64 KiB its blocks go straight to the disk', async () => {
    const dir = await fresh();
    const runner = threadFsOpRunner(2, true);
    // A umask that takes read bits away: the files must still be 0444 and 0555, as Nix's are.
    const umask = process.umask(0o277);
    try {
      const w = narFileWriters(runner, always).forNar();
      // Sizes around the alignment and the buffer's end: empty, tiny, just under and over 64 KiB, 1 MiB.
      const sizes = [0, 1, 4095, 65_535, 65_536, 200_001, 1024 * 1024, 7, 300_000, 1024 * 1024, 3];
      const files = sizes.map((size, i) => ({ path: join(dir, `f${i}`), mode: i % 3 === 0 ? 0o555 : 0o444, data: randomBytes(size) }));
      for (const f of files) {
        expect(w.wants(f.data.length)).toBe(true);
        // In two chunks, the second reused once add resolves (the writer copied it by then).
        const cut = f.data.length >> 1;
        const second = Buffer.from(f.data.subarray(cut));
        await w.add(f.path, f.mode, 1, [f.data.subarray(0, cut), second], f.data.length);
        second.fill(0xaa);
      }
      await w.end();
      for (const f of files) {
        const st = await stat(f.path);
        expect(st.mode & 0o7777, f.path).toBe(f.mode);
        expect(st.mtimeMs, f.path).toBe(1000);
        if (f.data.length >= 65_536) expect(residentBytes(f.path), f.path).toBeLessThanOrEqual(4096);
        expect((await readFile(f.path)).equals(f.data), f.path).toBe(true);
      }
    } finally {
      process.umask(umask);
      await runner.close();
    }
  });

  it('a write that fails (the name exists) fails end(), and every later add; nothing is written over the file', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'taken'), 'mine');
    const runner = threadFsOpRunner(2);
    try {
      const w = narFileWriters(runner, always).forNar();
      await w.add(join(dir, 'a'), 0o444, 1, [Buffer.from('a')], 1);
      await w.add(join(dir, 'taken'), 0o444, 1, [Buffer.from('theirs')], 6);
      await expect(w.end()).rejects.toThrow(/EEXIST/);
      await expect(w.add(join(dir, 'b'), 0o444, 1, [Buffer.from('b')], 1)).rejects.toThrow(/EEXIST/);
      expect(await readFile(join(dir, 'taken'), 'utf8')).toBe('mine');
      await w.settled();
    } finally {
      await runner.close();
    }
  });

  it('a file added after the end is refused: its buffers may be another NAR\'s by then', async () => {
    const dir = await fresh();
    const runner = threadFsOpRunner(1);
    try {
      const w = narFileWriters(runner, always).forNar();
      await w.add(join(dir, 'a'), 0o444, 1, [Buffer.from('a')], 1);
      await w.end();
      await expect(w.add(join(dir, 'b'), 0o444, 1, [Buffer.from('b')], 1)).rejects.toThrow(/after the end/);
      await expect(stat(join(dir, 'b'))).rejects.toThrow(/ENOENT/);
    } finally {
      await runner.close();
    }
  });

  it('a failure in a full buffer stops the next add once that buffer is needed again', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'taken'), 'mine');
    const runner = threadFsOpRunner(1);
    try {
      const w = narFileWriters(runner, always).forNar();
      const mib = randomBytes(1024 * 1024);
      await w.add(join(dir, 'taken'), 0o444, 1, [mib], mib.length);
      // Each MiB fills a buffer: the third add needs the first buffer back, whose write failed.
      await w.add(join(dir, 'x1'), 0o444, 1, [mib], mib.length);
      await expect(w.add(join(dir, 'x2'), 0o444, 1, [mib], mib.length)).rejects.toThrow(/EEXIST/);
      await w.settled();
      expect(await readFile(join(dir, 'taken'), 'utf8')).toBe('mine');
    } finally {
      await runner.close();
    }
  });

  it('the threads take files only once the fetch has seen HAND_OVER_FROM bytes of them, counted over all its NARs', () => {
    const runner = threadFsOpRunner(1);
    try {
      const writers = narFileWriters(runner);
      const a = writers.forNar();
      const b = writers.forNar();
      // Thousands of tiny files alone never start the threads: writing them in place costs less.
      const tiny = narFileWriters(runner).forNar();
      for (let i = 0; i < 10_000; i++) expect(tiny.wants(10)).toBe(false);
      const mib = 1024 * 1024;
      const seen = Array.from({ length: Math.ceil(HAND_OVER_FROM / mib) }, (_, i) => (i % 2 === 0 ? a : b).wants(mib));
      expect(seen.every((x) => !x)).toBe(true);
      expect(b.wants(mib)).toBe(true);
      expect(a.wants(10)).toBe(true);
      // A file larger than a buffer is never taken (the sink writes it).
      expect(a.wants(2 * mib)).toBe(false);
    } finally {
      void runner.close();
    }
  });
});

describe('a closure built by real Nix, its small files written on the threads', () => {
  let fx: NixClosureFixture;
  let trust: NixTrustPolicy;
  beforeAll(async () => {
    // A hundred small files, one of 200 kB (direct), and a blob over 1 MiB (the sink's own); every small
    // file handed over (no threshold), so the threads write them all.
    fx = await buildNixClosure(scratch.path, [
      { name: 'many-files', files: 100, blobBytes: 200_000 },
      { name: 'big-blob', files: 3, blobBytes: 1_500_000 },
    ]);
    const k = parseNixPublicKey(fx.publicKey);
    trust = { keys: new Map([[k.name, k.key]]), threshold: 1 };
  }, 180_000);

  async function walk(dir: string): Promise<string[]> {
    const out = [dir];
    if ((await lstat(dir)).isDirectory()) for (const e of await readdir(dir)) out.push(...(await walk(join(dir, e))));
    return out;
  }

  it.each(['none', 'zstd'] as const)('%s: every path byte-identical to the original, read-only with mtime 1', async (c) => {
    const cacheDir = join(scratch.path, `cache-${c}`);
    await publishNixCache(fx, cacheDir, c);
    const root = await fresh();
    const cache = await openNixCache(`nix+file://${cacheDir}`);
    const runner = threadFsOpRunner(2);
    try {
      const closure = await resolveNixClosure(cache, fx.top, trust);
      const r = await materialiseNixClosure(cache, closure, root, { fileWriter: narFileWriters(runner, always).forNar });
      expect(r.fetched.sort()).toEqual([...fx.paths].sort());
    } finally {
      await runner.close();
      await cache.close();
    }
    for (const p of fx.paths) {
      expect((await nixDump(join(root, p), scratch.path)).equals(await nixDump(p, scratch.path)), p).toBe(true);
      for (const f of await walk(join(root, p))) {
        const st = await lstat(f);
        if (st.isSymbolicLink()) continue;
        expect(st.mode & 0o222, f).toBe(0);
        expect(st.mtimeMs, f).toBe(1000);
      }
    }
  }, 120_000);
});
