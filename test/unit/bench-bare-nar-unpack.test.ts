import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { narUnpackFloorArgs } from '../../bench/lib/nar-floor-plan.js';
import { formatSha256 } from '../../src/nix/hash.js';
import { dir, entry, file, nar } from '../helpers/nar-bytes.js';
import { nixDump } from '../helpers/nix-closure.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

// The Nix benchmark's unpacking floor stands for the NAR work `nix copy` does: it is one only if it hashes
// every byte against the NarHash, writes the whole tree as Nix would (so `nix-store --dump` of it gives the
// same NAR back), and refuses what a fetch refuses. Run as the built process the bench runs.

const exec = promisify(execFile);
const BARE_NAR_UNPACK = resolve('dist/bench/lib/bare-nar-unpack.js');
const hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
/** The floor run with `args` (its flags, DEST, then the NARs). */
const run = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  exec(process.execPath, [BARE_NAR_UNPACK, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: unknown) => ({ code: (e as { code: number }).code, stdout: (e as { stdout: string }).stdout, stderr: (e as { stderr: string }).stderr }),
  );

describe('bench floor: a bare Node process unpacks the NARs a Nix fetch needs, as nix copy does', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    t = await makeTempDir();
  });
  afterAll(async () => {
    await exec('chmod', ['-R', 'u+w', t.dir]);
    await t.cleanup();
  });

  it('writes a real NAR\'s tree so that nix-store --dump of it is the same NAR, after checking its hash', async () => {
    const src = join(t.dir, 'src');
    await mkdir(join(src, 'bin'), { recursive: true });
    await mkdir(join(src, 'share', 'deep'), { recursive: true });
    // Larger than the floor's 1 MiB buffer, and not a multiple of 8: read across reads, then padded.
    await writeFile(join(src, 'large'), randomBytes(3 * 1024 * 1024 + 5));
    await writeFile(join(src, 'bin', 'run'), '#!/bin/sh\nexit 0\n');
    await chmod(join(src, 'bin', 'run'), 0o755);
    await writeFile(join(src, 'empty'), '');
    await writeFile(join(src, 'share', 'deep', 'x'), 'x\n');
    await symlink('../large', join(src, 'share', 'link'));
    const bytes = await nixDump(src, t.dir);
    const narFile = join(t.dir, 'real.nar');
    await writeFile(narFile, bytes);
    const dest = join(t.dir, 'out');
    const r = await run(dest, `${narFile}@${hex(bytes)}`);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ paths: 1, files: 4, bytes: bytes.length });
    expect((await nixDump(join(dest, '0'), t.dir)).equals(bytes)).toBe(true);
  });

  it('writes the same tree with --pool-writes, its large files in slots on libuv\'s pool, and still refuses what it refuses', async () => {
    const src = join(t.dir, 'pool-src');
    await mkdir(src);
    // Over 1 MiB, so written on the pool: more slots' worth (256 KiB each) than there are slots, so each
    // is reused, and a partial last one; then a second large file after it, and a small one.
    await writeFile(join(src, 'a-large'), randomBytes(3 * 1024 * 1024 + 12_345));
    await writeFile(join(src, 'b-large'), randomBytes(1024 * 1024 + 1));
    await writeFile(join(src, 'c-small'), 'small\n');
    const bytes = await nixDump(src, t.dir);
    const narFile = join(t.dir, 'pool.nar');
    await writeFile(narFile, bytes);
    const r = await run('--pool-writes', join(t.dir, 'pool-out'), `${narFile}@${hex(bytes)}`);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ paths: 1, files: 3, bytes: bytes.length });
    expect((await nixDump(join(t.dir, 'pool-out', '0'), t.dir)).equals(bytes)).toBe(true);
    const wrong = await run('--pool-writes', join(t.dir, 'pool-wrong'), `${narFile}@${hex(Buffer.from('other'))}`);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/pool\.nar: its sha256 is [0-9a-f]{64}, its NarHash/);
    // Cut inside the first large file: the pool's reader must stop there, not wait or loop.
    const cut = bytes.subarray(0, 2 * 1024 * 1024);
    const cutFile = join(t.dir, 'pool-cut.nar');
    await writeFile(cutFile, cut);
    const short = await run('--pool-writes', join(t.dir, 'pool-cut'), `${cutFile}@${hex(cut)}`);
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/pool-cut\.nar: the NAR ends early/);
  });

  it('from zstd, reads the system zstd\'s output through a FIFO and checks the file\'s FileHash with openssl, with and without --pool-writes', async () => {
    const src = join(t.dir, 'zstd-src');
    await mkdir(join(src, 'bin'), { recursive: true });
    // Larger than the FIFO's 64 KiB and than the read buffer, so read in many pieces; one file large enough
    // for the pool's slots, an executable and a symlink as in the uncompressed case.
    await writeFile(join(src, 'large'), randomBytes(3 * 1024 * 1024 + 77));
    await writeFile(join(src, 'bin', 'run'), '#!/bin/sh\nexit 0\n');
    await chmod(join(src, 'bin', 'run'), 0o755);
    await symlink('large', join(src, 'link'));
    const bytes = await nixDump(src, t.dir);
    const narFile = join(t.dir, 'z.nar');
    await writeFile(narFile, bytes);
    await exec('zstd', ['-q', narFile, '-o', `${narFile}.zst`]);
    const compressed = await readFile(`${narFile}.zst`);
    const fifo = join(t.dir, 'floor.fifo');
    await exec('mkfifo', [fifo]);
    const arg = `${narFile}.zst@${hex(bytes)}@${hex(compressed)}`;
    for (const flags of [[], ['--pool-writes']]) {
      const out = join(t.dir, `zstd-out${flags.length}`);
      const r = await run(...flags, '--fifo', fifo, out, arg, arg);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toEqual({ paths: 2, files: 4, bytes: 2 * bytes.length });
      for (const i of ['0', '1']) expect((await nixDump(join(out, i), t.dir)).equals(bytes)).toBe(true);
    }
    // A FileHash that is not the file's: refused though the NAR is right.
    const wrongFile = await run('--fifo', fifo, join(t.dir, 'zstd-wrong-file'), `${narFile}.zst@${hex(bytes)}@${hex(bytes)}`);
    expect(wrongFile.code).toBe(1);
    expect(wrongFile.stderr).toMatch(/z\.nar\.zst: the file's sha256 is [0-9a-f]{64}, its FileHash [0-9a-f]{64}/);
    // A NarHash that is not the NAR's, the FileHash right.
    const wrongNar = await run('--fifo', fifo, join(t.dir, 'zstd-wrong-nar'), `${narFile}.zst@${hex(compressed)}@${hex(compressed)}`);
    expect(wrongNar.code).toBe(1);
    expect(wrongNar.stderr).toMatch(/z\.nar\.zst: its sha256 is [0-9a-f]{64}, its NarHash/);
    // A file cut short: zstd's own failure, not only a NAR that ended.
    const cut = join(t.dir, 'cut.nar.zst');
    await writeFile(cut, compressed.subarray(0, 4096));
    const short = await run('--fifo', fifo, join(t.dir, 'zstd-cut'), `${cut}@${hex(bytes)}@${hex(compressed.subarray(0, 4096))}`);
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/^bare-nar-unpack: zstd -dcq < .*cut\.nar\.zst failed \(exit 1\)/);
    const noFifo = await run(join(t.dir, 'zstd-no-fifo'), arg);
    expect(noFifo.code).toBe(1);
    expect(noFifo.stderr).toMatch(/z\.nar\.zst: a zstd NAR \(its FileHash given\) needs --fifo/);
  });

  it('reads a name that lies across the end of its buffer whole', async () => {
    const name = `${'n'.repeat(200)}-across`;
    const make = (size: number): Buffer => nar(...dir(entry('a', file(Buffer.alloc(size, 1))), entry(name, file('b'))));
    // The name's bytes start 40 bytes before the 1 MiB read ends (its length field and the tokens before it move with `size`).
    const first = make(1024 * 1024);
    const at = first.indexOf(Buffer.from(name));
    const bytes = make(1024 * 1024 - (at - (1024 * 1024 - 40)));
    expect(bytes.indexOf(Buffer.from(name))).toBe(1024 * 1024 - 40);
    const narFile = join(t.dir, 'across.nar');
    await writeFile(narFile, bytes);
    const r = await run(join(t.dir, 'across'), `${narFile}@${hex(bytes)}`);
    expect(r.code).toBe(0);
    expect(await readFile(join(t.dir, 'across', '0', name), 'utf8')).toBe('b');
  });

  it('fails with exit 1, naming the NAR, when its sha256 is not the NarHash given', async () => {
    const bytes = nar(...file('contents'));
    const narFile = join(t.dir, 'wrong.nar');
    await writeFile(narFile, bytes);
    const r = await run(join(t.dir, 'wrong'), `${narFile}@${hex(Buffer.from('other'))}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bare-nar-unpack: .*wrong\.nar: its sha256 is [0-9a-f]{64}, its NarHash/);
  });

  it('refuses a NAR with bytes after its end, one cut short, and entries out of order, though each hashes to the sha256 given', async () => {
    const whole = nar(...file('contents'));
    const cases: Array<[string, Buffer, RegExp]> = [
      // The hash given is the whole file's, so only the structure can refuse it.
      ['trailing', Buffer.concat([whole, Buffer.alloc(8, 7)]), /trailing\.nar: bytes after the NAR's end/],
      ['short', whole.subarray(0, whole.length - 8), /short\.nar: the NAR ends early/],
      ['unsorted', nar(...dir(entry('b', file('b')), entry('a', file('a')))), /unsorted\.nar: entry name "a"/],
    ];
    for (const [name, bytes, message] of cases) {
      const narFile = join(t.dir, `${name}.nar`);
      await writeFile(narFile, bytes);
      const r = await run(join(t.dir, name), `${narFile}@${hex(bytes)}`);
      expect(r.code, name).toBe(1);
      expect(r.stderr, name).toMatch(message);
    }
  });

  it('refuses an entry name that would leave its folder, writing nothing outside it', async () => {
    const bytes = nar(...dir(entry('..', file('escaped'))));
    const narFile = join(t.dir, 'escape.nar');
    await writeFile(narFile, bytes);
    const before = await readdir(t.dir);
    const r = await run(join(t.dir, 'escape', 'in'), `${narFile}@${hex(bytes)}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/entry name "\.\."/);
    expect((await readdir(t.dir)).sort()).toEqual([...before, 'escape'].sort());
    expect(await readdir(join(t.dir, 'escape'))).toEqual(['in']);
  });

  it('takes each NAR from its narinfo with the NarHash in hex (and a zstd one\'s FileHash), and refuses what it cannot read, naming the narinfo', async () => {
    const cache = join(t.dir, 'cache');
    await mkdir(join(cache, 'nar'), { recursive: true });
    const digest = createHash('sha256').update('nar').digest();
    const fileDigest = createHash('sha256').update('file').digest();
    const h = (c: string): string => c.repeat(32);
    const info = (c: string, lines: string): Promise<void> => writeFile(join(cache, `${h(c)}.narinfo`), `StorePath: /nix/store/${h(c)}-${c}\n${lines}`);
    await info('a', `URL: nar/a.nar\nCompression: none\nNarHash: ${formatSha256(digest)}\n`);
    await info('b', `URL: nar/b.nar.zst\nCompression: zstd\nFileHash: ${formatSha256(fileDigest)}\nNarHash: ${formatSha256(digest)}\n`);
    await info('c', `URL: nar/c.nar\nCompression: none\n`);
    await info('d', `URL: nar/d.nar.zst\nCompression: zstd\nNarHash: ${formatSha256(digest)}\n`);
    await info('e', `URL: nar/e.nar.xz\nCompression: xz\nFileHash: ${formatSha256(fileDigest)}\nNarHash: ${formatSha256(digest)}\n`);
    expect(await narUnpackFloorArgs(cache, [`/nix/store/${h('a')}-a`])).toEqual([`${join(cache, 'nar/a.nar')}@${digest.toString('hex')}`]);
    expect(await narUnpackFloorArgs(cache, [`/nix/store/${h('b')}-b`])).toEqual([`${join(cache, 'nar/b.nar.zst')}@${digest.toString('hex')}@${fileDigest.toString('hex')}`]);
    await expect(narUnpackFloorArgs(cache, [`/nix/store/${h('c')}-c`])).rejects.toThrow(/c{32}\.narinfo: no NarHash line/);
    await expect(narUnpackFloorArgs(cache, [`/nix/store/${h('d')}-d`])).rejects.toThrow(/d{32}\.narinfo: no FileHash line/);
    await expect(narUnpackFloorArgs(cache, [`/nix/store/${h('e')}-e`])).rejects.toThrow(/e{32}\.narinfo: Compression xz/);
  });
});
