// A no-op and a one-changed Nix fetch ask the cache only what the root does not already hold: narinfos of
// placed paths come from those kept under ROOT/nix/var/flotilla (re-verified under each run's keys), and
// nix-store is not run for paths the root's registration record vouches for. Real Nix, a real HTTP cache
// behind a request-recording proxy, a real nix-store behind a wrapper that logs each run.
import { access, chmod, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchNixClosure, nixTrustOf, type NixSource } from '../../src/fetch/nix-closure.js';
import { registerIfNix, registerWithNix } from '../../src/fetch/nix-register.js';
import { SignatureError } from '../../src/errors/index.js';
import { generateNixKey } from '../../scripts/world/nix-closure.js';
import { parseStorePath } from '../../src/nix/index.js';
import type { NixStorePath } from '../../src/store/closure-ref.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { buildNixClosure, nixEnv, publishNixCache, type NixClosureFixture } from '../helpers/nix-closure.js';
import { startRecordingProxy, type RecordingProxy } from '../helpers/recording-proxy.js';
import { makeScratch, runTool, type Scratch } from '../../scripts/world/tools.js';

let scratch: Scratch;
let v1: NixClosureFixture;
let v2: NixClosureFixture;
let server: HttpStoreServer;
let proxy: RecordingProxy;
let roots = 0;

beforeAll(async () => {
  scratch = await makeScratch('nixnoop');
  const libs = [{ name: 'noop-a' }, { name: 'noop-b' }];
  // A salt per run, shared by v1 and v2: the host's Nix keeps every signature a run adds to a store path, and
  // a fixed salt's paths would pass MAX_SIGS (src/nix/narinfo.ts) after 64 runs on one machine.
  const salt = `noop${Date.now()}`;
  v1 = await buildNixClosure(scratch.path, libs, salt);
  // One lib changed: it and the app are new paths, the other lib is the same path as in v1.
  v2 = await buildNixClosure(scratch.path, [libs[0]!, { name: 'noop-b', marker: 'v2' }], salt, v1);
  const cacheDir = join(scratch.path, 'cache');
  await publishNixCache(v1, cacheDir, 'zstd');
  await publishNixCache(v2, cacheDir, 'zstd');
  server = await startHttpStoreServer(cacheDir);
  proxy = await startRecordingProxy(server.url);
}, 180_000);
afterAll(async () => {
  await proxy?.close();
  await server?.close();
  await scratch?.cleanup();
});

const source = (keys: string[] = [v1.publicKey], threshold = 1): NixSource => ({ urls: [`nix+${proxy.url}`], trust: nixTrustOf({ trustedKeys: keys, threshold }) });
const freshRoot = (): string => join(scratch.path, `root-${roots++}`);
const hashOf = (p: string): string => parseStorePath(p).hash;
const keptFile = (root: string, p: string): string => join(root, 'nix/var/flotilla/narinfo', `${hashOf(p)}.narinfo`);

/** The requests a fetch of `top` into `root` made, and what it did. */
async function fetchCounting(top: string, root: string, src = source()): Promise<{ seen: string[]; f: Awaited<ReturnType<typeof fetchNixClosure>> }> {
  const before = proxy.seen.length;
  const f = await fetchNixClosure(src, top as NixStorePath, root);
  return { seen: proxy.seen.slice(before), f };
}

describe('a Nix fetch asks only for what the root lacks', () => {
  it('a no-op makes no request; one path changed reads only the new paths\' narinfos', async () => {
    const root = freshRoot();
    const cold = await fetchCounting(v1.top, root);
    expect(cold.f.result.fetched.sort()).toEqual([...v1.paths].sort());
    expect(cold.seen.filter((s) => s.endsWith('.narinfo')).length).toBe(v1.paths.length);

    const noop = await fetchCounting(v1.top, root);
    expect(noop.seen).toEqual([]);
    expect(noop.f.result.fetched).toEqual([]);
    expect(noop.f.closure.map((i) => i.storePath).sort()).toEqual([...v1.paths].sort());

    const changed = await fetchCounting(v2.top, root);
    const fresh = v2.paths.filter((p) => !v1.paths.includes(p));
    expect(fresh.length).toBe(2);
    expect(changed.seen.filter((s) => s.endsWith('.narinfo')).sort()).toEqual(fresh.map((p) => `GET /${hashOf(p)}.narinfo`).sort());
    expect(changed.f.result.fetched.sort()).toEqual(fresh.sort());
    expect((await fetchCounting(v2.top, root)).seen).toEqual([]);
  });

  it('a kept narinfo that was tampered with is not trusted: the cache is read again and the kept copy replaced', async () => {
    const root = freshRoot();
    await fetchCounting(v1.top, root);
    const lib = v1.libs[0]!;
    const good = await readFile(keptFile(root, lib), 'utf8');
    // Another NarHash under the old signature: the signature no longer covers the fields.
    await writeFile(keptFile(root, lib), good.replace(/^NarHash: sha256:(.)/m, (_, c: string) => `NarHash: sha256:${c === '0' ? '1' : '0'}`));
    const again = await fetchCounting(v1.top, root);
    expect(again.seen).toEqual(['GET /nix-cache-info', `GET /${hashOf(lib)}.narinfo`]);
    expect(await readFile(keptFile(root, lib), 'utf8')).toBe(good);
    expect((await fetchCounting(v1.top, root)).seen).toEqual([]);
  });

  it('a kept narinfo is taken on its memo of the keys that verified it: no signature is verified again while they are trusted', async () => {
    const root = freshRoot();
    await fetchCounting(v1.top, root);
    const lib = v1.libs[0]!;
    const good = await readFile(keptFile(root, lib), 'utf8');
    const [name, key] = [v1.publicKey.slice(0, v1.publicKey.lastIndexOf(':')), v1.publicKey.slice(v1.publicKey.lastIndexOf(':') + 1)];
    expect(good).toMatch(new RegExp(`^FlotillaVerified: [0-9a-f]{64} ${name}:${key.replace(/[+/]/g, '\\$&')}$`, 'm'));
    // Its signature made one that no longer verifies (another narinfo's): the memo alone vouches, as for a
    // path's own bytes, which a no-op does not re-hash either (fsck does).
    const other = await readFile(keptFile(root, v1.libs[1]!), 'utf8');
    const otherSig = /^Sig: (.*)$/m.exec(other)?.[1] ?? '';
    await writeFile(keptFile(root, lib), good.replace(/^Sig: .*$/m, `Sig: ${otherSig}`));
    expect((await fetchCounting(v1.top, root)).seen).toEqual([]);
  });

  it('a memo does not vouch for a key now trusted with other bytes under its name, nor below the threshold: verified anew, the cache asked', async () => {
    const root = freshRoot();
    await fetchCounting(v1.top, root);
    const name = v1.publicKey.slice(0, v1.publicKey.lastIndexOf(':'));
    const other = await generateNixKey(scratch.path);
    const sameName = `${name}:${other.publicKey.slice(other.publicKey.lastIndexOf(':') + 1)}`;
    let before = proxy.seen.length;
    await expect(fetchNixClosure(source([sameName]), v1.top as NixStorePath, root)).rejects.toBeInstanceOf(SignatureError);
    expect(proxy.seen.slice(before)).toContain(`GET /${hashOf(v1.top)}.narinfo`);
    // Two keys required, the memo names one: verified anew (one signature holds), then the cache, which refuses.
    before = proxy.seen.length;
    await expect(fetchNixClosure(source([v1.publicKey, other.publicKey], 2), v1.top as NixStorePath, root)).rejects.toBeInstanceOf(SignatureError);
    expect(proxy.seen.slice(before)).toContain(`GET /${hashOf(v1.top)}.narinfo`);
    // The run's own trust again: the memos still hold, nothing is asked.
    expect((await fetchCounting(v1.top, root)).seen).toEqual([]);
  });

  it('a FIFO in a kept narinfo\'s place is not waited on (the kept narinfos are read on the main thread): the cache is read again', async () => {
    const root = freshRoot();
    await fetchCounting(v1.top, root);
    const lib = v1.libs[0]!;
    const good = await readFile(keptFile(root, lib), 'utf8');
    await rm(keptFile(root, lib));
    await runTool('mkfifo', [keptFile(root, lib)]);
    const again = await fetchCounting(v1.top, root);
    expect(again.seen).toEqual(['GET /nix-cache-info', `GET /${hashOf(lib)}.narinfo`]);
    expect(await readFile(keptFile(root, lib), 'utf8')).toBe(good);
  });

  it('kept narinfos whose signatures this run\'s keys do not trust are not used: the cache is asked, and refuses', async () => {
    const root = freshRoot();
    await fetchCounting(v1.top, root);
    const other = await generateNixKey(scratch.path);
    const before = proxy.seen.length;
    await expect(fetchNixClosure(source([other.publicKey]), v1.top as NixStorePath, root)).rejects.toBeInstanceOf(SignatureError);
    expect(proxy.seen.slice(before)).toContain(`GET /${hashOf(v1.top)}.narinfo`);
  });

  it('a fetch refused at a NAR keeps no narinfo, not even under a temp name', async () => {
    const root = freshRoot();
    const bad = join(scratch.path, 'cache-bad');
    await runTool('cp', ['-r', join(scratch.path, 'cache'), bad]);
    const info = await readFile(join(bad, `${hashOf(v1.top)}.narinfo`), 'utf8');
    const nar = join(bad, /^URL: (.*)$/m.exec(info)?.[1] ?? '');
    const bytes = await readFile(nar);
    const at = bytes.length - 200;
    bytes.writeUInt8(bytes.readUInt8(at) ^ 1, at);
    await writeFile(nar, bytes);
    const src: NixSource = { urls: [`nix+file://${bad}`], trust: nixTrustOf({ trustedKeys: [v1.publicKey], threshold: 1 }) };
    await expect(fetchNixClosure(src, v1.top as NixStorePath, root)).rejects.toThrow(v1.top);
    expect(await readdir(join(root, 'nix/var/flotilla/narinfo'))).toEqual([]);
  });

  it('a path deleted from ROOT/nix/store is fetched again', async () => {
    const root = freshRoot();
    await fetchCounting(v1.top, root);
    const lib = v1.libs[1]!;
    await runTool('chmod', ['-R', 'u+w', join(root, lib)]);
    await runTool('rm', ['-rf', join(root, lib)]);
    const again = await fetchCounting(v1.top, root);
    expect(again.f.result.fetched).toEqual([lib]);
    expect(again.seen.filter((s) => s.endsWith('.narinfo'))).toEqual([`GET /${hashOf(lib)}.narinfo`]);
    expect(again.seen.some((s) => s.startsWith('GET /nar/'))).toBe(true);
  });
});

describe('registering with the Nix at the root', () => {
  /** A nix-store that logs each run to `log`, then runs the real one. */
  async function loggingNixStore(): Promise<{ bin: string; runs: () => Promise<string[]> }> {
    const dir = join(scratch.path, `nix-store-${roots++}`);
    await runTool('mkdir', ['-p', dir]);
    const bin = join(dir, 'nix-store');
    const log = join(dir, 'log');
    const real = (await runTool('sh', ['-c', 'command -v nix-store'])).trim();
    await writeFile(bin, `#!/bin/sh\necho "$*" >> ${log}\nexec ${real} "$@"\n`);
    await chmod(bin, 0o755);
    await writeFile(log, '');
    return { bin, runs: async () => (await readFile(log, 'utf8')).split('\n').filter((l) => l !== '') };
  }

  const nixValid = async (root: string, p: string): Promise<boolean> =>
    runTool('nix-store', ['--store', root, '--check-validity', p], { env: nixEnv(scratch.path) }).then(() => true, () => false);

  it('runs no nix-store for paths it registered, and registers again a path Nix deleted and we placed again', async () => {
    const root = freshRoot();
    await runTool('nix', ['store', 'ping', '--store', root], { env: nixEnv(scratch.path) });
    const nix = await loggingNixStore();
    const first = await fetchNixClosure(source(), v1.top as NixStorePath, root);
    expect((await registerIfNix(root, first.closure, { nixStore: nix.bin })).registered.sort()).toEqual([...v1.paths].sort());
    const runs = (await nix.runs()).length;
    // Two runs: the validity check is also the probe for Nix (no `nix-store --version` before it), then one load.
    const verbs = (await nix.runs()).map((l) => l.split(' ').find((a) => a.startsWith('--') && a !== '--store'));
    expect(verbs).toEqual(['--check-validity', '--load-db']);

    const noop = await fetchNixClosure(source(), v1.top as NixStorePath, root);
    expect(await registerIfNix(root, noop.closure, { nixStore: nix.bin })).toEqual({ nix: true, registered: [] });
    expect((await nix.runs()).length).toBe(runs);

    // Nix deletes the app (nothing refers to it): it leaves the store and Nix's database together.
    await runTool('nix-store', ['--store', root, '--delete', v1.top], { env: nixEnv(scratch.path) });
    expect(await nixValid(root, v1.top)).toBe(false);
    const back = await fetchNixClosure(source(), v1.top as NixStorePath, root);
    expect(back.result.fetched).toEqual([v1.top]);
    expect((await registerIfNix(root, back.closure, { nixStore: nix.bin })).registered).toEqual([v1.top]);
    expect(await nixValid(root, v1.top)).toBe(true);
  });

  it('without nix-store to run: registerIfNix says there is no Nix and records nothing; registerWithNix refuses', async () => {
    const root = freshRoot();
    const f = await fetchNixClosure(source(), v1.top as NixStorePath, root);
    const missing = join(scratch.path, 'no-such-dir', 'nix-store');
    expect(await registerIfNix(root, f.closure, { nixStore: missing })).toEqual({ nix: false, registered: [] });
    await expect(access(join(root, 'nix/var/flotilla/registered.json'))).rejects.toThrow(/ENOENT/);
    await expect(registerWithNix(root, f.closure, { nixStore: missing })).rejects.toThrow(/could not be run to register paths/);
  });

  it('a Nix database made anew is asked again', async () => {
    const root = freshRoot();
    await runTool('nix', ['store', 'ping', '--store', root], { env: nixEnv(scratch.path) });
    const f = await fetchNixClosure(source(), v1.top as NixStorePath, root);
    await registerIfNix(root, f.closure);
    const db = join(root, 'nix/var/nix/db');
    await rename(db, `${db}.old`);
    await runTool('nix', ['store', 'ping', '--store', root], { env: nixEnv(scratch.path) });
    expect(await nixValid(root, v1.top)).toBe(false);
    expect((await registerIfNix(root, f.closure)).registered.sort()).toEqual([...v1.paths].sort());
    expect(await nixValid(root, v1.top)).toBe(true);
  });
});
