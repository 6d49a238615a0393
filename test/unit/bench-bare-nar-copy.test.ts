import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { narFloorArgs } from '../../bench/lib/nar-floor-plan.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

// The Nix benchmark's copy floor is only a floor if it writes every byte of every NAR the fetch needs: each
// NAR found through its narinfo, a zstd one decompressed whole. Run as the built process the bench runs.

const exec = promisify(execFile);
const BARE_NAR_COPY = resolve('dist/bench/lib/bare-nar-copy.js');
const HASH_A = 'a'.repeat(32);
const HASH_B = 'b'.repeat(32);

describe('bench floor: a bare Node process copies the NARs a Nix fetch needs', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  const plain = randomBytes(3 * 1024 * 1024 + 17);
  const packed = randomBytes(1024 * 1024 + 5);

  beforeAll(async () => {
    t = await makeTempDir();
    const cache = join(t.dir, 'cache');
    await mkdir(join(cache, 'nar'), { recursive: true });
    await writeFile(join(cache, 'nar', 'plain.nar'), plain);
    await writeFile(join(cache, 'nar', 'packed.nar'), packed);
    await exec('zstd', ['-q', '--rm', join(cache, 'nar', 'packed.nar')]);
    await writeFile(join(cache, `${HASH_A}.narinfo`), `StorePath: /nix/store/${HASH_A}-a\nURL: nar/plain.nar\nCompression: none\n`);
    await writeFile(join(cache, `${HASH_B}.narinfo`), `StorePath: /nix/store/${HASH_B}-b\nURL: nar/packed.nar.zst\nCompression: zstd\n`);
    await writeFile(join(cache, `${'c'.repeat(32)}.narinfo`), `StorePath: /nix/store/${'c'.repeat(32)}-c\nURL: nar/c.nar.xz\nCompression: xz\n`);
    await writeFile(join(cache, `${'d'.repeat(32)}.narinfo`), `StorePath: /nix/store/${'d'.repeat(32)}-d\nCompression: none\n`);
  });
  afterAll(async () => t.cleanup());

  it('writes each NAR byte for byte, the zstd one decompressed', async () => {
    const cache = join(t.dir, 'cache');
    const args = await narFloorArgs(cache, [`/nix/store/${HASH_A}-a`, `/nix/store/${HASH_B}-b`]);
    expect(args).toEqual([join(cache, 'nar/plain.nar'), `${join(cache, 'nar/packed.nar.zst')}:zstd`]);
    const out = join(t.dir, 'out');
    const { stdout } = await exec(process.execPath, [BARE_NAR_COPY, out, ...args]);
    expect(JSON.parse(stdout)).toEqual({ files: 2, bytes: plain.length + packed.length });
    expect((await readFile(join(out, '0.nar'))).equals(plain)).toBe(true);
    expect((await readFile(join(out, '1.nar'))).equals(packed)).toBe(true);
  });

  it('refuses a compression it does not copy and a narinfo without URL, naming the narinfo', async () => {
    const cache = join(t.dir, 'cache');
    await expect(narFloorArgs(cache, [`/nix/store/${'c'.repeat(32)}-c`])).rejects.toThrow(/c{32}\.narinfo: Compression xz/);
    await expect(narFloorArgs(cache, [`/nix/store/${'d'.repeat(32)}-d`])).rejects.toThrow(/d{32}\.narinfo: no URL line/);
  });

  it('fails with exit 1 and the cause when a NAR is missing', async () => {
    const err = await exec(process.execPath, [BARE_NAR_COPY, join(t.dir, 'out2'), join(t.dir, 'cache', 'nar', 'gone.nar')]).then(() => undefined, (e: unknown) => e as { code: number; stderr: string });
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/bare-nar-copy: .*gone\.nar/);
  });
});
