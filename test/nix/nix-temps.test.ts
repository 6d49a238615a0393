// Nothing half-done stays under a Nix root after a kill: a `flotilla fetch --root` SIGKILLed mid-unpack leaves
// temps (a partly unpacked NAR, staged narinfos), and the next fetch removes them, places the closure
// byte-identical to Nix and leaves the temps of live writers alone. `flotilla gc --state` forgets the kept
// narinfos and registration entries of the paths it collects. Real Nix, a real HTTP cache, real processes.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closurePaths, fetchNixClosure, nixTrustOf } from '../../src/fetch/nix-closure.js';
import { registerWithNix } from '../../src/fetch/nix-register.js';
import { stageGeneration } from '../../src/generations/index.js';
import { judgeNixTemp, nixTempNameFor, parseStorePath } from '../../src/nix/index.js';
import type { NixStorePath } from '../../src/store/closure-ref.js';
import { buildNixClosure, nixDump, nixEnv, publishNixCache, type NixClosureFixture } from '../../scripts/world/nix-closure.js';
import { makeScratch, runTool, type Scratch } from '../../scripts/world/tools.js';
import { dataOf } from '../helpers/cli-json.js';
import { CLI } from '../helpers/cli-bin.js';
import { runCli } from '../helpers/deploy-world.js';

let scratch: Scratch;
let fx: NixClosureFixture;
let cacheDir: string;
let server: Server;
let url: string;
/** NAR files (cache-relative keys) the server sends half of, then holds open: a fetch stuck mid-unpack. */
const stalled = new Set<string>();
let roots = 0;

beforeAll(async () => {
  scratch = await makeScratch('nixtemps');
  fx = await buildNixClosure(scratch.path, [{ name: 'temps-big', blobBytes: 4 << 20 }, { name: 'temps-small' }]);
  cacheDir = join(scratch.path, 'cache');
  await publishNixCache(fx, cacheDir, 'none');
  server = createServer((req, res) => {
    const key = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
    const file = join(cacheDir, key);
    void stat(file).then(
      async (st) => {
        if (!stalled.has(key)) {
          res.writeHead(200, { 'content-length': st.size });
          if (req.method === 'HEAD') res.end();
          else createReadStream(file).pipe(res);
          return;
        }
        res.writeHead(200, { 'content-length': st.size });
        res.write((await readFile(file)).subarray(0, Math.floor(st.size / 2)));
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `nix+http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}, 180_000);
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await scratch?.cleanup();
});

const freshRoot = (): string => join(scratch.path, `root-${roots++}`);
const base = (p: string): string => p.slice('/nix/store/'.length);
const fetchArgs = (root: string): string[] => ['fetch', fx.top, '--store', url, '--trust', fx.publicKey, '--root', root, '--register', 'never', '--json'];
const exists = (p: string): Promise<boolean> => lstat(p).then(() => true, () => false);

/** Every `.tmp-*` entry under `dir`, at any depth (relative paths). */
async function tempsUnder(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true }).catch(() => [])) {
    const r = join(rel, e.name);
    if (e.name.startsWith('.tmp-')) out.push(r);
    else if (e.isDirectory()) out.push(...(await tempsUnder(dir, r)));
  }
  return out.sort();
}

/** The NAR key (`nar/…`) the cache's narinfo of `storePath` points at. */
async function narKeyOf(storePath: string): Promise<string> {
  const text = await readFile(join(cacheDir, `${parseStorePath(storePath).hash}.narinfo`), 'utf8');
  return /^URL: (.*)$/m.exec(text)?.[1] ?? '';
}

async function waitFor(what: string, ok: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Runs `flotilla fetch` until the big lib's NAR is half unpacked under its temp name, then SIGKILLs it. */
async function killMidUnpack(root: string): Promise<number> {
  const big = fx.libs[0] ?? '';
  stalled.add(await narKeyOf(big));
  const child = spawn(process.execPath, [CLI, ...fetchArgs(root)], { stdio: 'ignore', env: { ...process.env, FLOTILLA_LOG_LEVEL: 'warn' } });
  const closed = new Promise((r) => child.once('close', r));
  try {
    const store = join(root, 'nix/store');
    await waitFor('a partly unpacked NAR', async () => {
      const temp = (await readdir(store).catch(() => [])).find((n) => n.startsWith(`.tmp-${base(big)}-`));
      return temp !== undefined && (await stat(join(store, temp, 'lib/blob')).then((s) => s.size > 0, () => false));
    });
    child.kill('SIGKILL');
    await closed;
  } finally {
    stalled.clear();
  }
  return child.pid ?? 0;
}

/** The pid of a process that has exited (and so names no running writer). */
async function deadPid(): Promise<number> {
  const child = spawn('/bin/true');
  await new Promise((r) => child.once('close', r));
  return child.pid ?? 0;
}

describe('a Nix fetch killed mid-unpack', () => {
  it('leaves temps that the next fetch removes, placing the closure byte-identical to Nix', async () => {
    const root = freshRoot();
    const pid = await killMidUnpack(root);
    const left = await tempsUnder(root);
    // The kill must have left work behind, or the rest proves nothing.
    expect(left.some((t) => t.startsWith(`nix/store/.tmp-${base(fx.libs[0] ?? '')}-${pid}-`)), left.join('\n')).toBe(true);
    expect(left.some((t) => t.startsWith('nix/var/flotilla/narinfo/.tmp-')), left.join('\n')).toBe(true);
    for (const p of fx.paths) expect(await exists(join(root, p)), `${p} is not placed by a killed fetch`).toBe(false);

    const r = await runCli(fetchArgs(root));
    expect(r.code, r.stderr).toBe(0);
    expect(dataOf<{ fetched: string[] }>(r.stdout).fetched.sort()).toEqual(fx.paths);
    expect(await tempsUnder(root)).toEqual([]);
    for (const p of fx.paths) expect((await nixDump(join(root, p), scratch.path)).equals(await nixDump(p, scratch.path)), p).toBe(true);
  }, 120_000);

  it('a sweep leaves the temps of live writers alone and removes dead ones without following their links', async () => {
    const root = freshRoot();
    const store = join(root, 'nix/store');
    const narinfos = join(root, 'nix/var/flotilla/narinfo');
    await mkdir(store, { recursive: true });
    await mkdir(narinfos, { recursive: true });
    // This test's process is alive and is not the fetch's: its temps are a live writer's.
    const live = [join(store, `.tmp-${base(fx.libs[1] ?? '')}-${process.pid}-00112233aabbccdd`), join(narinfos, `.tmp-x.narinfo-${process.pid}-00112233aabbccdd`)];
    await mkdir(live[0] ?? '');
    await writeFile(live[1] ?? '', 'in progress');
    // A dead writer's unpacked NAR holding a link out of the root: removing it must not follow the link.
    const outside = join(scratch.path, `outside-${roots}`);
    await mkdir(outside);
    await writeFile(join(outside, 'precious'), 'keep me');
    const dead = join(store, `.tmp-${base(fx.libs[1] ?? '')}-${await deadPid()}-0011223344556677`);
    await mkdir(join(dead, 'lib'), { recursive: true });
    await symlink(outside, join(dead, 'lib/out'));
    await symlink(join(outside, 'precious'), join(dead, 'lib/file-link'));

    const r = await runCli(fetchArgs(root));
    expect(r.code, r.stderr).toBe(0);
    for (const p of live) expect(await exists(p), `${p} of a live writer is kept`).toBe(true);
    expect(await exists(dead)).toBe(false);
    expect(await readFile(join(outside, 'precious'), 'utf8')).toBe('keep me');
    expect((await tempsUnder(root)).sort()).toEqual(live.map((p) => p.slice(root.length + 1)).sort());
  }, 120_000);

  it('judges a temp of this pid by its process token: ours is live, an earlier process\'s with our pid is stale', () => {
    const ours = nixTempNameFor('/r/nix/store/abc-x').split('/').pop() ?? '';
    expect(judgeNixTemp(ours)).toBe('live');
    const earlier = ours.replace(/-([0-9a-f]{8})([0-9a-f]{8})$/, (_m, t: string, r: string) => `-${t === 'ffffffff' ? '00000000' : 'ffffffff'}${r}`);
    expect(judgeNixTemp(earlier)).toBe('stale');
    // tempNameFor's names carry no token: one of our pid may be this process's own write.
    expect(judgeNixTemp(`.tmp-abc-x-${process.pid}-0011223344aa`)).toBe('live');
    expect(judgeNixTemp('.tmp-no-pid-here')).toBe('foreign');
  });
});

describe('flotilla gc --state forgets what it collects', () => {
  it('removes the kept narinfo and the registration entry of every path it collects, and only those', async () => {
    const v2 = await buildNixClosure(scratch.path, [{ name: 'temps-small' }], undefined, { secretKeyFile: fx.secretKeyFile, publicKey: fx.publicKey });
    const cache2 = join(scratch.path, 'cache-gc');
    const cache = await publishNixCache(fx, cache2, 'zstd');
    await publishNixCache(v2, cache2, 'zstd');
    const root = freshRoot();
    const stateDir = join(scratch.path, `state-${roots}`);
    // Nix was there when the closures were placed (so they were registered), then went away.
    await runTool('nix', ['store', 'ping', '--store', root], { env: nixEnv(scratch.path) });
    for (const f of [fx, v2]) {
      const top = f.top as NixStorePath;
      const fetched = await fetchNixClosure({ urls: [cache], trust: nixTrustOf({ trustedKeys: [fx.publicKey], threshold: 1 }) }, top, root);
      await registerWithNix(root, fetched.closure);
      await stageGeneration({ stateDir, set: 'app', digest: top, packages: [], nix: { root, paths: closurePaths(fetched.closure, top) }, origin: {} });
    }
    const record = async (): Promise<string[]> => Object.keys((JSON.parse(await readFile(join(root, 'nix/var/flotilla/registered.json'), 'utf8')) as { paths: object }).paths).sort();
    const kept = async (): Promise<string[]> => (await readdir(join(root, 'nix/var/flotilla/narinfo'))).sort();
    const narinfoOf = (p: string): string => `${parseStorePath(p).hash}.narinfo`;
    const all = [...new Set([...fx.paths, ...v2.paths])].sort();
    expect(await record()).toEqual(all);
    expect(await kept()).toEqual(all.map(narinfoOf).sort());
    await rm(join(root, 'nix/var/nix'), { recursive: true, force: true });

    const gc = await runCli(['gc', '--state', stateDir, '--keep', '1', '--json']);
    expect(gc.code, gc.stderr).toBe(0);
    const onlyV1 = fx.paths.filter((p) => !v2.paths.includes(p)).sort();
    expect(dataOf<{ nix: Array<{ removed: string[] }> }>(gc.stdout).nix[0]?.removed.sort()).toEqual(onlyV1);
    for (const p of onlyV1) expect(await exists(join(root, p))).toBe(false);
    expect(await record()).toEqual([...v2.paths].sort());
    expect(await kept()).toEqual(v2.paths.map(narinfoOf).sort());
    expect(await tempsUnder(root)).toEqual([]);
  }, 180_000);
});
