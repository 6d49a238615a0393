// The read-side verbs on a Nix store path, run as the built CLI against a real Nix-built, Nix-signed cache:
// verify, fetch, show, diff, plan, revert and bump. Each refusal below would pass if its check were removed.
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closurePaths, fetchNixClosure, nixTrustOf } from '../../src/fetch/nix-closure.js';
import { stageGeneration } from '../../src/generations/index.js';
import { parseNarInfo, parseStorePath } from '../../src/nix/index.js';
import { parseClosureRef, type NixStorePath } from '../../src/store/closure-ref.js';
import { createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { startHttpStoreServer } from '../helpers/http-store-server.js';
import { startNarFlightProxy } from '../helpers/nar-flight-proxy.js';
import { buildNixClosure, generateNixKey, nixDump, publishNixCache, type NixClosureFixture } from '../helpers/nix-closure.js';
import { makeScratch, type Scratch } from '../../scripts/world/tools.js';
import { dataOf } from '../helpers/cli-json.js';

let scratch: Scratch;
let v1: NixClosureFixture;
let v2: NixClosureFixture;
let rogue: NixClosureFixture;
let cacheDir: string;
let cacheUrl: string;

beforeAll(async () => {
  scratch = await makeScratch('nix-verbs');
  const salt = `verbs${Date.now()}`;
  v1 = await buildNixClosure(scratch.path, [{ name: 'lib-a', marker: 'a' }, { name: 'lib-b' }], salt);
  const key = { secretKeyFile: v1.secretKeyFile, publicKey: v1.publicKey };
  // v2 shares lib-a with v1; lib-b (and so the app) changes.
  v2 = await buildNixClosure(scratch.path, [{ name: 'lib-a', marker: 'a' }, { name: 'lib-b', marker: 'two' }], salt, key);
  // Signed, but by a key flotilla.yaml does not trust.
  rogue = await buildNixClosure(scratch.path, [{ name: 'lib-r' }], undefined, await generateNixKey(scratch.path));
  cacheDir = join(scratch.path, 'cache');
  for (const fx of [v1, v2, rogue]) cacheUrl = await publishNixCache(fx, cacheDir, 'none');
}, 240_000);
afterAll(() => scratch.cleanup());

async function narinfoOf(cache: string, path: string): Promise<ReturnType<typeof parseNarInfo>> {
  return parseNarInfo(await readFile(join(cache, `${parseStorePath(path).hash}.narinfo`), 'utf8'), path);
}

/** A copy of the cache with one byte of `path`'s NAR flipped (its narinfo untouched: signed and intact). */
async function tamperedCopy(path: string): Promise<string> {
  const dir = join(scratch.path, `tampered-${parseStorePath(path).hash}`);
  await cp(cacheDir, dir, { recursive: true });
  const nar = join(dir, (await narinfoOf(dir, path)).url);
  const b = await readFile(nar);
  const i = b.indexOf(Buffer.from('file 0 '));
  b[i] = 'F'.charCodeAt(0);
  await writeFile(nar, b);
  return `nix+file://${dir}`;
}

const lib = (fx: NixClosureFixture, name: string): string => fx.libs.find((p) => p.endsWith(`-${name}`)) ?? '';

describe('flotilla verify /nix/store/…', () => {
  it('passes a closure signed by the trusted key, checking every NAR', async () => {
    const r = await runCli(['verify', v1.top, '--store', cacheUrl, '--trust', v1.publicKey, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = dataOf<{ ok: boolean; paths: Array<{ storePath: string; signers: string[] }>; narBytesChecked: number }>(r.stdout);
    expect(j.ok).toBe(true);
    expect(j.paths.map((p) => p.storePath).sort()).toEqual(v1.paths);
    expect(j.narBytesChecked).toBe((await Promise.all(v1.paths.map((p) => narinfoOf(cacheDir, p)))).reduce((n, i) => n + i.narSize, 0));
  });

  it('fails a closure signed by an untrusted key, naming every path', async () => {
    const r = await runCli(['verify', rogue.top, '--store', cacheUrl, '--trust', v1.publicKey]);
    expect(r.code).toBe(1);
    for (const p of rogue.paths) expect(r.stdout).toContain(`${p}: 0 valid signature(s)`);
  });

  it('fails a NAR with a flipped byte, naming its store path', async () => {
    const r = await runCli(['verify', v1.top, '--store', await tamperedCopy(lib(v1, 'lib-a')), '--trust', v1.publicKey]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`${lib(v1, 'lib-a')}: IntegrityError`));
    expect(r.stdout).not.toContain(`${lib(v1, 'lib-b')}:`);
  });

  it('refuses a Nix path with no Nix cache among --store, naming the path', async () => {
    const r = await runCli(['verify', v1.top, '--store', scratch.path, '--trust', v1.publicKey]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(v1.top);
  });
});

describe('flotilla fetch /nix/store/… --root DIR', () => {
  it('places the closure byte-identical to Nix, and a second fetch places nothing', async () => {
    const root = join(scratch.path, 'root-fetch');
    const r = await runCli(['fetch', v1.top, '--store', cacheUrl, '--trust', v1.publicKey, '--root', root, '--register', 'never', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((dataOf<{ fetched: string[] }>(r.stdout)).fetched.sort()).toEqual(v1.paths);
    for (const p of v1.paths) expect((await nixDump(join(root, p), scratch.path)).equals(await nixDump(p, scratch.path)), p).toBe(true);
    const again = await runCli(['fetch', v1.top, '--store', cacheUrl, '--trust', v1.publicKey, '--root', root, '--register', 'never', '--json']);
    expect(dataOf(again.stdout)).toMatchObject({ fetched: [], present: expect.arrayContaining(v1.paths) as unknown });
  });

  it('--concurrency N bounds the NARs fetched at once; a value out of range is refused before anything is fetched', async () => {
    // The project's static server behind a proxy that holds each NAR response 150 ms and counts the NAR
    // requests in flight: with three NARs to fetch, one at a time never overlaps, three at a time does.
    const origin = await startHttpStoreServer(cacheDir);
    const proxy = await startNarFlightProxy(origin.url);
    const url = `nix+${proxy.url}`;
    try {
      for (const [n, bound] of [['1', (m: number) => m === 1], ['3', (m: number) => m > 1]] as const) {
        proxy.reset();
        const root = join(scratch.path, `root-concurrency-${n}`);
        const r = await runCli(['fetch', v1.top, '--store', url, '--trust', v1.publicKey, '--root', root, '--register', 'never', '--concurrency', n, '--json']);
        expect(r.code, r.stderr).toBe(0);
        expect(bound(proxy.most()), `--concurrency ${n}: ${proxy.most()} NARs at once`).toBe(true);
      }
      const root = join(scratch.path, 'root-concurrency-0');
      const bad = await runCli(['fetch', v1.top, '--store', url, '--trust', v1.publicKey, '--root', root, '--register', 'never', '--concurrency', '0']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/--concurrency must be an integer from 1 to 256, got "0"/);
      expect(await readdir(join(root, 'nix/store')).catch(() => [])).toEqual([]);
    } finally {
      await proxy.close();
      await origin.close();
    }
  });

  it('refuses a tampered NAR, names the path and places nothing', async () => {
    const root = join(scratch.path, 'root-tampered');
    const r = await runCli(['fetch', v1.top, '--store', await tamperedCopy(lib(v1, 'lib-b')), '--trust', v1.publicKey, '--root', root, '--register', 'never']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(lib(v1, 'lib-b'));
    expect(await readdir(join(root, 'nix/store')).catch(() => [])).toEqual([]);
  });

  it('refuses an untrusted closure before fetching any NAR', async () => {
    const root = join(scratch.path, 'root-rogue');
    const r = await runCli(['fetch', rogue.top, '--store', cacheUrl, '--trust', v1.publicKey, '--root', root, '--register', 'never']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(rogue.top);
    expect(r.stderr).toMatch(/SignatureError|valid signature/);
    expect(await readdir(join(root, 'nix/store')).catch(() => [])).toEqual([]);
  });

  it('with --state and no --root, places into the root the state dir\'s Nix generations use', async () => {
    const root = join(scratch.path, 'root-state');
    const stateDir = join(scratch.path, 'state-fetch');
    const top = parseClosureRef(v1.top) as NixStorePath;
    const f = await fetchNixClosure({ urls: [cacheUrl], trust: nixTrustOf({ trustedKeys: [v1.publicKey], threshold: 1 }) }, top, root);
    await stageGeneration({ stateDir, set: 'app', digest: top, packages: [], nix: { root, paths: closurePaths(f.closure, top) }, origin: {} });
    const r = await runCli(['fetch', v2.top, '--store', cacheUrl, '--trust', v1.publicKey, '--state', stateDir, '--register', 'never', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(dataOf(r.stdout)).toMatchObject({ root, fetched: [lib(v2, 'lib-b'), v2.top].sort() });
    for (const p of v2.paths) expect((await nixDump(join(root, p), scratch.path)).equals(await nixDump(p, scratch.path)), p).toBe(true);
  });

  it('asks for --root when neither --root nor a state dir with Nix generations says where', async () => {
    const r = await runCli(['fetch', v1.top, '--store', cacheUrl, '--trust', v1.publicKey]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--root');
  });
});

describe('flotilla show and diff on Nix store paths', () => {
  it('show: hashes, references, the closure and which signers verify', async () => {
    const r = await runCli(['show', v1.top, '--store', cacheUrl, '--trust', v1.publicKey, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = dataOf<{ narHash: string; references: string[]; closurePaths: string[]; signers: Array<{ key: string; verified: boolean }> }>(r.stdout);
    const info = await narinfoOf(cacheDir, v1.top);
    expect(j.narHash).toBe(info.narHash);
    expect(j.references).toEqual(info.references);
    expect(j.closurePaths.sort()).toEqual(v1.paths);
    expect(j.signers).toEqual([{ key: v1.publicKey.split(':')[0], verified: true }]);
    const untrusted = await runCli(['show', rogue.top, '--store', cacheUrl, '--trust', v1.publicKey, '--json']);
    expect((dataOf<{ signers: Array<{ verified: boolean }> }>(untrusted.stdout)).signers.map((s) => s.verified)).toEqual([false]);
  });

  it('diff: the store paths added and removed and the bytes a machine on A fetches', async () => {
    const r = await runCli(['diff', v1.top, v2.top, '--store', cacheUrl, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const d = dataOf<{ added: Array<{ storePath: string }>; removed: Array<{ storePath: string }>; fileBytesToFetch: number; kept: number }>(r.stdout);
    expect(d.added.map((p) => p.storePath).sort()).toEqual([v2.top, lib(v2, 'lib-b')].sort());
    expect(d.removed.map((p) => p.storePath).sort()).toEqual([v1.top, lib(v1, 'lib-b')].sort());
    expect(d.kept).toBe(1);
    const added = await Promise.all([v2.top, lib(v2, 'lib-b')].map((p) => narinfoOf(cacheDir, p)));
    expect(d.fileBytesToFetch).toBe(added.reduce((n, i) => n + (i.fileSize ?? 0), 0));
  });
});

describe('flotilla plan with a set pinning a Nix store path', () => {
  let world: DeployWorld;
  beforeAll(async () => {
    world = await createDeployWorld({ prefix: 'nixplan' });
    await world.commit({
      'flotilla.yaml': `stores:\n  - "${world.storeUrl}"\n  - "${cacheUrl}"\npublishers:\n  keys:\n    - ${world.publisherPublic}\n  threshold: 1\nnix:\n  trustedKeys:\n    - ${v1.publicKey}\n`,
    });
  }, 60_000);
  afterAll(() => world?.close());

  const setYaml = (closure: string): string =>
    `closure: ${closure}\nplatform: ${world.platform}\nmachines: [m1, m2, m3]\nrollout:\n  canary: 1\n  batchSize: 2\nactivate:\n  command: [out/bin/app]\n`;

  interface PlanJson {
    ok: boolean;
    sets: Array<{ packages: string[]; diff: { added: Array<{ digest: string }>; removed: Array<{ digest: string }>; bytesToFetch: number; narBytesToFetch: number; objectsToFetch: number }; checks: Array<{ name: string; status: string; message: string }> }>;
  }
  const plan = async (): Promise<{ code: number; json: PlanJson; text: string }> => {
    const r = await runCli(['plan', 'HEAD~1', 'HEAD', '--repo', world.work.dir, '--format', 'json']);
    const t = await runCli(['plan', 'HEAD~1', 'HEAD', '--repo', world.work.dir]);
    return { code: r.code, json: JSON.parse(r.stdout) as PlanJson, text: t.stdout };
  };

  it('shows the store paths added and removed and the NAR bytes each machine fetches', async () => {
    await world.commit({ 'sets/app.yaml': setYaml(v1.top) }, 'app v1');
    await world.commit({ 'sets/app.yaml': setYaml(v2.top) }, 'app v2');
    const p = await plan();
    expect(p.code, p.text).toBe(0);
    const s = p.json.sets[0]!;
    expect(s.diff.added.map((a) => a.digest).sort()).toEqual([v2.top, lib(v2, 'lib-b')].sort());
    expect(s.diff.removed.map((a) => a.digest).sort()).toEqual([v1.top, lib(v1, 'lib-b')].sort());
    const added = await Promise.all([v2.top, lib(v2, 'lib-b')].map((q) => narinfoOf(cacheDir, q)));
    expect(s.diff.bytesToFetch).toBe(added.reduce((n, i) => n + (i.fileSize ?? 0), 0));
    expect(s.diff.narBytesToFetch).toBe(added.reduce((n, i) => n + i.narSize, 0));
    expect(s.diff.objectsToFetch).toBe(2);
    expect(s.packages).toEqual(['flotilla-app', 'lib-a', 'lib-b']);
    expect(s.checks.find((c) => c.name === 'signatures')?.status).toBe('pass');
    expect(p.text).toContain('in 2 store path(s)');
  });

  it('flags a closure signed by an untrusted key as unsafe, naming its paths', async () => {
    await world.commit({ 'sets/app.yaml': setYaml(rogue.top) }, 'app rogue');
    const p = await plan();
    expect(p.code).toBe(1);
    const sig = p.json.sets[0]!.checks.find((c) => c.name === 'signatures')!;
    expect(sig.status).toBe('fail');
    expect(sig.message).toContain('UNSAFE');
    expect(sig.message).toContain(rogue.top);
  });

  it('revert --to takes a Nix store path, checks it in the cache, and refuses an untrusted one', async () => {
    const bad = await runCli(['revert', 'app', '--to', rogue.top, '--repo', world.work.dir, '--sign-key', world.signer.privateKeyPath]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(rogue.top);
    const r = await runCli(['revert', 'app', '--to', v1.top, '--repo', world.work.dir, '--sign-key', world.signer.privateKeyPath, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(world.work.dir, 'sets/app.yaml'), 'utf8')).toContain(`closure: ${v1.top}`);
  });

  it('bump commits a Nix store path whose closure is in the cache and trusted, and refuses one untrusted or absent, writing nothing', async () => {
    const bump = (to: string): ReturnType<typeof runCli> => runCli(['bump', 'app', to, '--repo', world.work.dir, '--sign-key', world.signer.privateKeyPath, '--json']);
    const head = async (): Promise<string> => (await world.work.git(['rev-parse', 'HEAD'])).trim();
    const ok = await bump(v2.top);
    expect(ok.code, ok.stderr).toBe(0);
    expect(dataOf<{ changes: Array<{ to: string }> }>(ok.stdout).changes.map((c) => c.to)).toEqual([v2.top]);
    expect(await readFile(join(world.work.dir, 'sets/app.yaml'), 'utf8')).toContain(`closure: ${v2.top}`);
    const before = await head();
    const absent = `/nix/store/${'0'.repeat(32)}-absent`;
    for (const bad of [rogue.top, absent]) {
      const r = await bump(bad);
      expect(r.code, bad).not.toBe(0);
      expect(r.stdout + r.stderr).toContain(bad);
    }
    expect(await head()).toBe(before);
    expect(await readFile(join(world.work.dir, 'sets/app.yaml'), 'utf8')).toContain(`closure: ${v2.top}`);
  });
});
