// A fetch by a user other than root (no CAP_DAC_OVERRIDE): a file it writes in pieces, or again through a
// direct (O_DIRECT) descriptor when asked to (FLOTILLA_DIRECT_WRITES=1), must stay writable to its owner until it is complete, since a 0444 file
// can be opened for writing only by root. Real processes as `nobody`: the built CLI over the project's
// HTTP store server, and the built NAR unpacker.
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import { formatPublicKey } from '../../src/trust/publisher-key.js';
import { CLI } from '../helpers/cli-bin.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { dir, entry, file, nar } from '../helpers/nar-bytes.js';
import { residentBytes } from '../helpers/page-cache.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';
import { generateTree } from '../helpers/tree-gen.js';

const NOBODY = 65534;
/**
 * Runs node with `args` as nobody (not synchronously: the HTTP store server answers from this process).
 * `direct`: true sets FLOTILLA_DIRECT_WRITES=1, 'never' sets it to 0, false leaves the default.
 */
const run = (args: string[], home: string, direct: boolean | 'never'): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((done, fail) => {
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, ...(direct === false ? {} : { FLOTILLA_DIRECT_WRITES: direct === true ? '1' : '0' }) };
    const child = spawn(process.execPath, args, { uid: NOBODY, gid: NOBODY, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });

/** Every regular file under `root`, with its mode. */
function filesUnder(root: string): Array<{ path: string; mode: number; size: number }> {
  const out: Array<{ path: string; mode: number; size: number }> = [];
  for (const name of readdirSync(root, { recursive: true }) as string[]) {
    const st = statSync(join(root, name), { throwIfNoEntry: false });
    if (st?.isFile() === true) out.push({ path: join(root, name), mode: st.mode & 0o777, size: st.size });
  }
  return out;
}

describe('a fetch as a user other than root', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let srv: HttpStoreServer;
  let digest: Digest;
  let home: string;
  const key = makeKeyPair('ci-1');

  beforeAll(async () => {
    t = await makeTempDir();
    chmodSync(t.dir, 0o755);
    const src = join(t.dir, 'src');
    await mkdir(src);
    // Objects over 256 KiB are written from a pack in pieces; those over 64 KiB straight to the disk.
    await generateTree(src, { seed: 7, files: 30, minSize: 3000, maxSize: 200_000, symlinks: 0, executableRatio: 0.2, fixedSizes: [700_000, 1_500_000] });
    const root = join(t.dir, 'store');
    digest = (await pushDirectory(openStore(root), src, { name: 'app', signKeys: [key.secret] })).digest;
    srv = await startHttpStoreServer(root);
    home = join(t.dir, 'home');
    mkdirSync(home);
    chownSync(home, NOBODY, NOBODY);
  });
  afterAll(async () => {
    await srv.close();
    await t.cleanup();
  });

  it.each([
    { direct: false, how: 'through the page cache (the default)' },
    { direct: true, how: 'straight to the disk (FLOTILLA_DIRECT_WRITES=1)' },
  ])('fetches over HTTP through its packs, writes large objects $how, and leaves every file read-only', async ({ direct }) => {
    const state = join(home, direct ? 'state-direct' : 'state');
    const r = await run([resolve(CLI), 'fetch', digest, '--store', srv.url, '--trust', formatPublicKey(key.public), '--state', state, '--json'], home, direct);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const data = (JSON.parse(r.stdout) as { data: { packsFetched: number; packFallbacks: number } }).data;
    // A pack whose large object could not be reopened for its next piece fell back to a request per object.
    expect(data.packFallbacks).toBe(0);
    expect(data.packsFetched).toBeGreaterThanOrEqual(1);
    const files = filesUnder(state);
    expect(files.filter((f) => (f.mode & 0o222) !== 0)).toEqual([]);
    const large = files.filter((f) => f.size >= 700_000);
    expect(large.length).toBeGreaterThanOrEqual(2);
    // Written with O_DIRECT: only the blocks across the edges of its pieces (~256 KiB each) went through
    // the page cache, where ordinary writes leave all of it there.
    for (const f of large) {
      if (direct) expect(residentBytes(f.path)).toBeLessThanOrEqual(f.size / 8);
      else expect(residentBytes(f.path)).toBeGreaterThanOrEqual(f.size);
    }
  });

  // Through the page cache by FLOTILLA_DIRECT_WRITES=0: by default a NAR's writer judges the page cache as it
  // writes (util/page-cache-judge.ts), and on a slow host sends the rest of a large file to the disk.
  it.each([
    { direct: false, how: 'through the page cache' },
    { direct: true, how: 'straight to the disk' },
  ])("unpacks a NAR's large file $how and gives it its read-only mode", async ({ direct }) => {
    const out = join(home, direct ? 'nar-out-direct' : 'nar-out');
    const narFile = join(t.dir, 'big.nar');
    writeFileSync(narFile, nar(...dir(entry('big', file(Buffer.alloc(3 * 1024 * 1024 + 5, 7))), entry('small', file('after')))));
    chmodSync(narFile, 0o644);
    const script = `import { createReadStream } from 'node:fs';
import { parseNar } from ${JSON.stringify(resolve('dist/src/nix/nar-parser.js'))};
import { createUnpackSink } from ${JSON.stringify(resolve('dist/src/nix/nar-unpack.js'))};
const sink = createUnpackSink(${JSON.stringify(out)}, '/nix/store/x');
await parseNar(createReadStream(${JSON.stringify(narFile)}), sink, '/nix/store/x');
await sink.finish();`;
    const r = await run(['--input-type=module', '-e', script], home, direct || 'never');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(statSync(join(out, 'big')).mode & 0o777).toBe(0o444);
    expect(statSync(join(out, 'big')).size).toBe(3 * 1024 * 1024 + 5);
    if (direct) expect(residentBytes(join(out, 'big'))).toBeLessThanOrEqual(4096);
    else expect(residentBytes(join(out, 'big'))).toBeGreaterThanOrEqual(3 * 1024 * 1024);
  });
});
