import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBareLane } from '../../bench/lib/bare-fetch-lane.js';
import { coldFetchPlan } from '../../bench/lib/fetch-floors.js';
import { parseManifest } from '../../src/packages/manifest-codec.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import { objectKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { loggingSync } from '../helpers/logging-sync.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';
import { generateTree } from '../helpers/tree-gen.js';

// The bare-Node floor of the fetch benchmark is only a floor if it does the fetch's whole transfer: the
// same GETs (packs split, large objects whole) and every object's bytes written, over the real static
// server the benchmark uses; its tree form, the closure's whole tree as the fetch writes it.

const exec = promisify(execFile);
const BARE_FETCH = resolve('dist/bench/lib/bare-fetch.js');

/** Every entry under `root`, by relative path: a directory, a symlink's target, or a file's mode and sha256. */
async function describeTree(root: string, at = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(join(root, at))).sort()) {
    const rel = at === '' ? name : `${at}/${name}`;
    const st = await lstat(join(root, rel));
    if (st.isDirectory()) {
      out.set(rel, 'dir');
      for (const [k, v] of await describeTree(root, rel)) out.set(k, v);
    } else if (st.isSymbolicLink()) out.set(rel, `-> ${await readlink(join(root, rel))}`);
    else out.set(rel, `${(st.mode & 0o111) !== 0 ? 'x' : '-'} ${createHash('sha256').update(await readFile(join(root, rel))).digest('hex')}`);
  }
  return out;
}

describe('bench floor: a bare Node lane writes every object a cold fetch fetches', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let srv: HttpStoreServer;
  let want: Map<string, number>;
  let digest: string;
  let src: string;

  beforeAll(async () => {
    t = await makeTempDir();
    src = join(t.dir, 'src');
    await mkdir(src);
    // The 9 MiB file stays out of packs: both kinds of GET. Small files are inline in the manifest.
    await generateTree(src, { seed: 7, files: 40, minSize: 2000, maxSize: 200_000, dirs: 5, symlinks: 3, executableRatio: 0.2, fixedSizes: [9 * 1024 * 1024, 10, 100] });
    const store = openStore(join(t.dir, 'store'));
    const pushed = await pushDirectory(store, src, { name: 'app', signKeys: [makeKeyPair('ci-1').secret] });
    expect(pushed.packs).toBeGreaterThanOrEqual(1);
    digest = pushed.digest;
    const manifest = parseManifest(await store.getBytes(objectKey(pushed.digest), { maxBytes: 1 << 24 }), pushed.digest).manifest;
    want = new Map();
    for (const e of manifest.entries) if (e.type === 'file' && e.data === undefined) want.set(e.digest.slice('sha256:'.length), e.size);
    srv = await startHttpStoreServer(join(t.dir, 'store'));
  });
  afterAll(async () => {
    await srv.close();
    await t.cleanup();
  });

  it('plans packs and unpacked objects, then writes each object once with its bytes', async () => {
    const { gets } = await coldFetchPlan(srv.url, digest);
    expect(gets.some((g) => g.pack)).toBe(true);
    expect(gets.some((g) => !g.pack)).toBe(true);
    const out = join(t.dir, 'out');
    const tally = await runBareLane({ base: srv.url, gets, out });
    const got = new Map<string, number>();
    for (const f of await readdir(out)) {
      const bytes = await readFile(join(out, f));
      got.set(createHash('sha256').update(bytes).digest('hex'), bytes.length);
    }
    expect(got).toEqual(want);
    expect(tally).toEqual({ files: want.size, bytes: [...want.values()].reduce((a, b) => a + b, 0) });
  });

  for (const lanes of ['1', '2']) {
    it(`writes the closure's whole tree, byte for byte and mode for mode, on ${lanes} lane(s)`, async () => {
      const plan = await coldFetchPlan(srv.url, digest);
      expect(plan.tree.inline.length).toBeGreaterThan(0);
      expect(plan.tree.symlinks.length).toBeGreaterThan(0);
      const planFile = join(t.dir, `plan-${lanes}.json`);
      await writeFile(planFile, JSON.stringify({ base: srv.url, ...plan }));
      const out = join(t.dir, `tree-${lanes}`);
      const { stdout } = await exec(process.execPath, [BARE_FETCH, planFile, out, lanes, 'tree']);
      const want = await describeTree(src);
      const got = await describeTree(join(out, '0'));
      expect(got).toEqual(want);
      expect(JSON.parse(stdout)).toEqual({ files: [...want.values()].filter((v) => v.startsWith('x ') || v.startsWith('- ')).length, bytes: expect.any(Number) as number });
    });
  }

  it('with WRITEBACK, writes the same tree and flushes its files with sync -f as it goes', async () => {
    const plan = await coldFetchPlan(srv.url, digest);
    const planFile = join(t.dir, 'plan-wb.json');
    await writeFile(planFile, JSON.stringify({ base: srv.url, ...plan }));
    const sync = await loggingSync(join(t.dir, 'shim'));
    try {
      for (const lanes of ['1', '2']) {
        const out = join(t.dir, `tree-wb-${lanes}`);
        await exec(process.execPath, [BARE_FETCH, planFile, out, lanes, 'tree', String(1024 * 1024)]);
        expect(await describeTree(join(out, '0'))).toEqual(await describeTree(src));
        // ~10 MiB written: at least one flush of the lane's tree.
        expect(await sync.lines()).toContain(`-f ${out}`);
      }
    } finally {
      sync.restore();
    }
    await expect(exec(process.execPath, [BARE_FETCH, planFile, join(t.dir, 'bad'), '1', 'tree', 'lots'])).rejects.toThrow(/WRITEBACK must be a number of bytes or -, not lots/);
  });

  it('refuses a fourth argument other than tree or flat, naming it, and writes nothing', async () => {
    const planFile = join(t.dir, 'plan-arg.json');
    await writeFile(planFile, JSON.stringify({ base: srv.url, ...(await coldFetchPlan(srv.url, digest)) }));
    const out = join(t.dir, 'out-bogus');
    await expect(exec(process.execPath, [BARE_FETCH, planFile, out, '1', 'trees'])).rejects.toThrow(/the fourth argument is tree or flat, not trees/);
    await expect(lstat(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('fails on a GET the server does not have, naming it', async () => {
    await expect(runBareLane({ base: srv.url, gets: [{ key: 'objects/sha256/00/nothing', pack: false }], out: join(t.dir, 'out-missing') })).rejects.toThrow(/objects\/sha256\/00\/nothing: HTTP\/1.1 404/);
  });
});
