// `flotilla fsck` re-hashes the Nix store paths a generation uses against the NarHash recorded from the
// signed narinfo (or, for an older generation, Nix's own registration), names a corrupted one, and
// `flotilla fetch /nix/store/… --repair` puts it back byte-identical. Built CLI, real Nix-built closure.
import { appendFile, chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closurePaths, fetchNixClosure, narHashesOf, nixTrustOf } from '../../src/fetch/nix-closure.js';
import { registerWithNix } from '../../src/fetch/nix-register.js';
import type { FsckReport } from '../../src/fetch/fsck-types.js';
import { stageGeneration } from '../../src/generations/index.js';
import { parseNarInfo, parseStorePath } from '../../src/nix/index.js';
import { parseClosureRef, type NixStorePath } from '../../src/store/closure-ref.js';
import { runCli } from '../helpers/deploy-world.js';
import { dataOf } from '../helpers/cli-json.js';
import { buildNixClosure, nixDump, nixEnv, publishNixCache, type NixClosureFixture } from '../helpers/nix-closure.js';
import { makeScratch, runTool, type Scratch } from '../../scripts/world/tools.js';

let scratch: Scratch;
let fx: NixClosureFixture;
let cacheDir: string;
let n = 0;

beforeAll(async () => {
  scratch = await makeScratch('nix-fsck');
  fx = await buildNixClosure(scratch.path, [{ name: 'fsck-lib', files: 4 }]);
  cacheDir = join(scratch.path, 'cache');
  await publishNixCache(fx, cacheDir, 'zstd');
}, 120_000);
afterAll(() => scratch.cleanup());

const lib = (): string => fx.libs[0] ?? '';
const top = (): NixStorePath => parseClosureRef(fx.top) as NixStorePath;

/** Fetches the closure into a fresh root and stages it as generation 1 of set `app`, as the agent does. */
async function deploy(options: { record: boolean; register: boolean }): Promise<{ stateDir: string; root: string }> {
  const root = join(scratch.path, `root-${n}`);
  const stateDir = join(scratch.path, `state-${n++}`);
  if (options.register) await runTool('nix', ['store', 'ping', '--store', root], { env: nixEnv(scratch.path) });
  const fetched = await fetchNixClosure({ urls: [`nix+file://${cacheDir}`], trust: nixTrustOf({ trustedKeys: [fx.publicKey], threshold: 1 }) }, top(), root);
  if (options.register) await registerWithNix(root, fetched.closure);
  const paths = closurePaths(fetched.closure, top());
  await stageGeneration({ stateDir, set: 'app', digest: top(), packages: [], nix: { root, paths, ...(options.record ? { narHashes: narHashesOf(fetched.closure) } : {}) }, origin: {} });
  return { stateDir, root };
}

async function corrupt(root: string): Promise<void> {
  const file = join(root, lib(), 'share/doc/f2');
  await chmod(file, 0o644);
  await appendFile(file, 'x');
  await chmod(file, 0o444);
}

async function fsck(stateDir: string): Promise<{ code: number; report: FsckReport & { ok: boolean } }> {
  const r = await runCli(['fsck', '--state', stateDir, '--json']);
  return { code: r.code, report: dataOf<FsckReport & { ok: boolean }>(r.stdout) };
}

async function signedNarHash(path: string): Promise<string> {
  return parseNarInfo(await readFile(join(cacheDir, `${parseStorePath(path).hash}.narinfo`), 'utf8'), path).narHash;
}

describe('flotilla fsck on Nix store paths', () => {
  it('finds a corrupted file in a placed path, and fetch --repair re-fetches only that path', async () => {
    const { stateDir, root } = await deploy({ record: true, register: false });
    const clean = await fsck(stateDir);
    expect(clean.code).toBe(0);
    expect(clean.report.checked).toMatchObject({ generations: 1, nixPaths: fx.paths.length, nixUnrecorded: 0 });

    await corrupt(root);
    const bad = await fsck(stateDir);
    expect(bad.code).toBe(1);
    expect(bad.report.damaged).toMatchObject([{ kind: 'nix-path', path: join(root, lib()), problem: `Nix store path ${lib()} differs from its NarHash`, expected: await signedNarHash(lib()) }]);
    expect(bad.report.damaged[0]?.actual).toMatch(/^sha256:[0-9a-z]{52}$/);
    expect(bad.report.damaged[0]?.actual).not.toBe(await signedNarHash(lib()));
    expect(bad.report.repair).toEqual([{ set: 'app', generation: 1, digest: fx.top }]);

    const fixed = await runCli(['fetch', fx.top, '--state', stateDir, '--store', `nix+file://${cacheDir}`, '--trust', fx.publicKey, '--register', 'never', '--repair', '--json']);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stderr).toContain(`repairing ${join(root, lib())}`);
    const data = dataOf<{ fetched: string[]; repaired: Array<{ storePath: string }> }>(fixed.stdout);
    expect(data.repaired.map((d) => d.storePath)).toEqual([lib()]);
    expect(data.fetched).toEqual([lib()]);
    expect((await nixDump(join(root, lib()), scratch.path)).equals(await nixDump(lib(), scratch.path))).toBe(true);
    expect((await fsck(stateDir)).code).toBe(0);
  }, 120_000);

  it('a missing path is damage too', async () => {
    const { stateDir, root } = await deploy({ record: true, register: false });
    await runTool('rm', ['-rf', join(root, lib())]);
    const bad = await fsck(stateDir);
    expect(bad.code).toBe(1);
    expect(bad.report.damaged).toMatchObject([{ kind: 'nix-path', path: join(root, lib()), actual: 'missing' }]);
  }, 120_000);

  it('a generation without recorded hashes is checked against Nix\'s registration when the root has Nix', async () => {
    const { stateDir, root } = await deploy({ record: false, register: true });
    expect((await fsck(stateDir)).report.checked).toMatchObject({ nixPaths: fx.paths.length, nixUnrecorded: 0 });
    await corrupt(root);
    const bad = await fsck(stateDir);
    expect(bad.code).toBe(1);
    expect(bad.report.damaged).toMatchObject([{ kind: 'nix-path', path: join(root, lib()), expected: await signedNarHash(lib()) }]);
  }, 120_000);

  it('without a record or Nix, fsck says how many paths it could not check rather than passing them silently', async () => {
    const { stateDir } = await deploy({ record: false, register: false });
    const r = await runCli(['fsck', '--state', stateDir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`(${fx.paths.length} more with no NarHash on record, not checked)`);
  }, 120_000);
});
