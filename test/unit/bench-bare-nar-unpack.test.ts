import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/package-fixtures.js';
import { describeTree, generateTree } from '../helpers/tree-gen.js';

// The Nix benchmark's unpacking floor is only a floor of what a fetch must do if it writes each NAR's whole
// tree: every file (bytes and executable bit), directory and symlink, from plain and zstd NARs that real
// Nix dumped. Run as the built process the bench runs.

const exec = promisify(execFile);
const BARE_NAR_UNPACK = resolve('dist/bench/lib/bare-nar-unpack.js');

/** Files by content and executable bit (Nix keeps no other mode), dirs, links. */
async function shapeOf(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [path, e] of await describeTree(root)) out.set(path, e.type === 'file' ? `${(e.mode & 0o111) !== 0 ? 'x' : '-'} ${e.sha256 ?? ''}` : e.type === 'symlink' ? `-> ${e.target ?? ''}` : 'dir');
  return out;
}

describe('bench floor: a bare Node process unpacks the NARs a Nix fetch needs', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  const srcs = ['a', 'b', 'c'];
  let nars: string[];
  let narBytes: number;

  beforeAll(async () => {
    t = await makeTempDir();
    nars = [];
    narBytes = 0;
    for (const [i, name] of srcs.entries()) {
      const src = join(t.dir, name);
      await mkdir(src);
      // Empty files, files on 8-byte boundaries and off them, a file of 2 MiB across many reads.
      await generateTree(src, { seed: 11 + i, files: 30, minSize: 0, maxSize: 70_000, dirs: 4, symlinks: 2, executableRatio: 0.3, fixedSizes: [0, 8, 13, 2 * 1024 * 1024] });
      const { stdout } = await exec('nix-store', ['--dump', src], { encoding: 'buffer', maxBuffer: 1 << 26 });
      const nar = join(t.dir, `${name}.nar`);
      await writeFile(nar, stdout);
      narBytes += stdout.length;
      nars.push(nar);
    }
    // The second one zstd-compressed, as the bench's zstd cache holds them.
    await exec('zstd', ['-q', '--rm', nars[1] as string]);
    nars[1] = `${nars[1] as string}.zst:zstd`;
  });
  afterAll(async () => t.cleanup());

  for (const lanes of ['1', '2']) {
    it(`writes every NAR's tree as Nix dumped it, on ${lanes} lane(s)`, async () => {
      const out = join(t.dir, `out-${lanes}`);
      const { stdout } = await exec(process.execPath, [BARE_NAR_UNPACK, out, lanes, ...nars]);
      let files = 0;
      for (const [i, name] of srcs.entries()) {
        const want = await shapeOf(join(t.dir, name));
        expect(await shapeOf(join(out, String(i)))).toEqual(want);
        files += [...want.values()].filter((v) => !v.startsWith('->') && v !== 'dir').length;
      }
      expect(JSON.parse(stdout)).toEqual({ files, bytes: narBytes });
    });
  }

  it('fails with exit 1 naming the NAR when it is truncated', async () => {
    const whole = await readFile(nars[0] as string);
    const cut = join(t.dir, 'cut.nar');
    await writeFile(cut, whole.subarray(0, whole.length - 100));
    const err = await exec(process.execPath, [BARE_NAR_UNPACK, join(t.dir, 'out-cut'), '1', cut]).then(() => undefined, (e: unknown) => e as { code: number; stderr: string });
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/bare-nar-unpack: .*cut\.nar: NAR: truncated/);
  });
});
