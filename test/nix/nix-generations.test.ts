// A Nix closure as a generation, beside a host's Nix and without one. "With Nix" is a real Nix store rooted
// at a chroot directory (`nix --store ROOT`): the paths Flotilla placed must be valid to it, and its GC must
// keep them while a generation uses them. "Without Nix" is the same root with no Nix database: Flotilla's own
// store GC must collect what no generation uses.
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closurePaths, fetchNixClosure, nixTrustOf } from '../../src/fetch/nix-closure.js';
import { registerWithNix } from '../../src/fetch/nix-register.js';
import { flotillaGcRootsDir, gcGenerations, gcNixStores, stageGeneration, syncNixGcRoots } from '../../src/generations/index.js';
import { parseClosureRef, type NixStorePath } from '../../src/store/closure-ref.js';
import { buildNixClosure, nixEnv, publishNixCache, type NixClosureFixture } from '../../scripts/world/nix-closure.js';
import { makeScratch, runTool, type Scratch } from '../../scripts/world/tools.js';
import { dataOf } from '../helpers/cli-json.js';
import { runCli } from '../helpers/deploy-world.js';

let scratch: Scratch;
let v1: NixClosureFixture;
let v2: NixClosureFixture;
let cacheUrl: string;
let roots = 0;

beforeAll(async () => {
  scratch = await makeScratch('nixgen');
  v1 = await buildNixClosure(join(scratch.path), [{ name: 'gen-lib' }]);
  // v2's lib refers to itself, as most real outputs do: its registration must carry that reference.
  v2 = await buildNixClosure(join(scratch.path), [{ name: 'gen-lib', selfReference: true }]);
  cacheUrl = await publishNixCache(v1, join(scratch.path, 'cache'), 'zstd');
  await publishNixCache(v2, join(scratch.path, 'cache'), 'zstd');
}, 180_000);
afterAll(() => scratch.cleanup());

const trustOf = (...fx: NixClosureFixture[]): ReturnType<typeof nixTrustOf> => nixTrustOf({ trustedKeys: fx.map((f) => f.publicKey), threshold: 1 });

async function deploy(stateDir: string, root: string, fx: NixClosureFixture, register: boolean): Promise<number> {
  const top = parseClosureRef(fx.top) as NixStorePath;
  const fetched = await fetchNixClosure({ urls: [cacheUrl], trust: trustOf(v1, v2) }, top, root);
  if (register) await registerWithNix(root, fetched.closure);
  const staged = await stageGeneration({ stateDir, set: 'app', digest: top, packages: [], nix: { root, paths: closurePaths(fetched.closure, top) }, origin: {} });
  if (register) await syncNixGcRoots(stateDir, root);
  expect(await readlink(join(staged.generation.path, 'out'))).toBe(join(root, fx.top));
  return staged.generation.number;
}

const nixPathInfo = async (root: string, path: string): Promise<boolean> =>
  runTool('nix', ['path-info', '--store', root, path], { env: nixEnv(scratch.path) }).then(() => true, () => false);
const exists = (p: string): Promise<boolean> => lstat(p).then(() => true, () => false);

describe('a Nix closure as a generation', () => {
  it('with Nix: placed paths are valid to Nix and GC roots keep them until their generation is collected', async () => {
    const root = join(scratch.path, `root-${roots++}`);
    const stateDir = join(scratch.path, `state-${roots}`);
    // A Nix store exists at the root before Flotilla comes (as on a host with Nix).
    await runTool('nix', ['store', 'ping', '--store', root], { env: nixEnv(scratch.path) });
    const g1 = await deploy(stateDir, root, v1, true);
    for (const p of v1.paths) expect(await nixPathInfo(root, p), p).toBe(true);
    expect(await readlink(join(flotillaGcRootsDir(root), `app-${g1}`))).toBe(v1.top);

    await runTool('nix-store', ['--store', root, '--gc'], { env: nixEnv(scratch.path) });
    for (const p of v1.paths) expect(await exists(join(root, p)), `${p} survives Nix GC while generation ${g1} exists`).toBe(true);

    const g2 = await deploy(stateDir, root, v2, true);
    const selfLib = v2.libs[0] ?? '';
    const refs = (await runTool('nix-store', ['--store', root, '--query', '--references', selfLib], { env: nixEnv(scratch.path) })).trim().split('\n');
    expect(refs).toContain(selfLib);
    // Nix re-hashes each path against the NarHash we registered: the registration matches the bytes placed.
    await runTool('nix-store', ['--store', root, '--verify-path', ...v2.paths], { env: nixEnv(scratch.path) });
    await gcGenerations({ stateDir, keep: 1, graceMs: 0 });
    expect(await gcNixStores(stateDir, { roots: [root] })).toEqual([{ root, removed: [], leftToNix: true }]);
    expect(await exists(join(flotillaGcRootsDir(root), `app-${g1}`))).toBe(false);
    expect(await readlink(join(flotillaGcRootsDir(root), `app-${g2}`))).toBe(v2.top);
    await runTool('nix-store', ['--store', root, '--gc'], { env: nixEnv(scratch.path) });
    for (const p of v2.paths) expect(await exists(join(root, p)), `${p} is kept by generation ${g2}'s root`).toBe(true);
    for (const p of v1.paths.filter((q) => !v2.paths.includes(q))) expect(await exists(join(root, p)), `${p} is Nix's to collect once unused`).toBe(false);
  }, 120_000);

  it('without Nix: flotilla gc collects the store paths no generation uses, and only those', async () => {
    const root = join(scratch.path, `root-${roots++}`);
    const stateDir = join(scratch.path, `state-${roots}`);
    await deploy(stateDir, root, v1, false);
    const onlyV1 = v1.paths.filter((p) => !v2.paths.includes(p));
    expect(await gcNixStores(stateDir, { dryRun: true })).toEqual([{ root, removed: [], leftToNix: false }]);
    await deploy(stateDir, root, v2, false);
    // Both generations exist: nothing is unused yet.
    expect((await gcNixStores(stateDir))[0]?.removed).toEqual([]);
    // The verb an operator runs: generations first, then the store paths only they used.
    const gc = await runCli(['gc', '--state', stateDir, '--keep', '1', '--json']);
    expect(gc.code, gc.stderr).toBe(0);
    const r = dataOf<{ nix: Array<{ root: string; removed: string[]; leftToNix: boolean }> }>(gc.stdout).nix;
    expect(r.map((n) => ({ ...n, removed: [...n.removed].sort() }))).toEqual([{ root, removed: [...onlyV1].sort(), leftToNix: false }]);
    for (const p of onlyV1) expect(await exists(join(root, p))).toBe(false);
    for (const p of v2.paths) expect(await exists(join(root, p)), p).toBe(true);
  }, 120_000);
});
