// `flotilla fsck` on a state dir a real agent process filled from a signed repo and a directory store, then
// damaged on disk in each way it checks; `flotilla fetch --repair` puts it right. Files are replaced, not
// written in place: a directory store's objects may be hard-linked into the cache and the packages.
import { readdir, readFile, readlink, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '../../src/store/digest.js';
import { createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { fleetSetYaml, pushFleetPackage } from '../helpers/fleet.js';
import { dataOf } from '../helpers/cli-json.js';

interface FsckJson {
  ok: boolean;
  checked: { objects: number; packages: number; files: number; generations: number };
  damaged: Array<{ kind: string; path: string; problem: string; expected?: string; actual?: string }>;
  repair: Array<{ set: string; generation: number; digest: string }>;
}

describe('flotilla fsck and fetch --repair', () => {
  let world: DeployWorld;
  let v1: Digest;
  let stateDir: string;
  let pkg: string;
  beforeAll(async () => {
    world = await createDeployWorld();
    v1 = await pushFleetPackage(world, 'v1', true);
    await world.commit({ 'sets/app.yaml': fleetSetYaml(v1, world.platform, ['m1'], 1) }, 'app v1');
    const r = await runCli(['agent', '--config', await world.agentConfig('m1'), '--once']);
    if (r.code !== 0) throw new Error(r.stderr);
    stateDir = world.stateDirOf('m1');
    const dirs = await readdir(join(stateDir, 'store'));
    pkg = join(stateDir, 'store', dirs.find((d) => d.endsWith('-app'))!);
  }, 300_000);
  afterAll(async () => world?.close());

  const fsck = async (...args: string[]): Promise<{ code: number; report: FsckJson; text: string }> => {
    const json = await runCli(['fsck', '--state', stateDir, '--json', ...args]);
    const text = await runCli(['fsck', '--state', stateDir, ...args]);
    return { code: json.code, report: dataOf<FsckJson>(json.stdout), text: text.stdout };
  };
  const repair = async (): Promise<number> => {
    const r = await runCli(['fetch', v1, '--state', stateDir, '--store', world.storeUrl, '--trust', world.publisherPublic, '--repair', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return (dataOf<{ repaired: unknown[] }>(r.stdout)).repaired.length;
  };
  const objectOf = (digest: string): string => join(stateDir, 'objects', 'sha256', digest.slice(7, 9), digest.slice(7));

  it('finds nothing on a healthy state dir', async () => {
    const { code, report } = await fsck();
    expect(code).toBe(0);
    expect(report).toMatchObject({ ok: true, damaged: [], repair: [], checked: { generations: 1, packages: 1 } });
    expect(report.checked.files).toBeGreaterThanOrEqual(3);
    expect(report.checked.objects).toBeGreaterThanOrEqual(1);
  });

  it.each([
    {
      name: 'a package file whose bytes changed',
      damage: async () => {
        await unlink(join(pkg, 'VERSION'));
        await writeFile(join(pkg, 'VERSION'), 'v9\n');
      },
      want: { kind: 'package', path: 'VERSION', problem: 'content differs from the manifest' },
    },
    { name: 'a file the manifest does not list', damage: () => writeFile(join(pkg, 'bin', 'backdoor'), 'x'), want: { kind: 'package', path: 'bin/backdoor', problem: 'not in the manifest' } },
    { name: 'a missing file', damage: () => rm(join(pkg, 'bin', 'health')), want: { kind: 'package', path: 'bin/health', problem: 'missing' } },
    {
      name: 'a cached object that no longer hashes to its name',
      damage: async () => {
        const manifest = JSON.parse(await readFile(objectOf(`sha256:${pkg.split('/').pop()!.slice(0, 64)}`), 'utf8')) as { entries: Array<{ path: string; digest?: string }> };
        // bin/activate is executable, and nothing else has its bytes: cached as its 0555 variant alone.
        const object = `${objectOf(manifest.entries.find((e) => e.path === 'bin/activate')!.digest!)}.x`;
        await unlink(object);
        await writeFile(object, '#!/bin/sh\nexit 0 # tampered\n');
      },
      want: { kind: 'object', path: '', problem: 'content does not match its name' },
    },
    {
      name: 'a generation link pointing elsewhere',
      damage: async () => {
        const gens = join(stateDir, 'sets', 'app', 'generations');
        const link = join(gens, (await readdir(gens))[0]!, 'app');
        const target = await readlink(link);
        await unlink(link);
        await symlink(`${target}-elsewhere`, link);
      },
      want: { kind: 'generation', path: 'app', problem: 'package link differs from origin.json' },
    },
  ])('names $name, exits 1, and fetch --repair restores it', { timeout: 120_000 }, async ({ damage, want }) => {
    await damage();
    const { code, report, text } = await fsck();
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.damaged).toContainEqual(expect.objectContaining({ kind: want.kind, problem: want.problem, path: expect.stringContaining(want.path) as unknown }));
    expect(report.repair).toEqual([{ set: 'app', generation: 1, digest: v1 }]);
    expect(text).toContain(`app generation 1: ${v1}`);
    expect(await fsck('--set', 'app')).toMatchObject({ code: 1 });
    if (want.kind === 'generation') {
      // fetch re-places packages and objects; a generation's own links are the agent's to rebuild: the check still names it.
      const gens = join(stateDir, 'sets', 'app', 'generations');
      const link = join(gens, (await readdir(gens))[0]!, 'app');
      const target = await readlink(link);
      await unlink(link);
      await symlink(target.replace(/-elsewhere$/, ''), link);
    } else {
      expect(await repair()).toBeGreaterThan(0);
    }
    expect((await fsck()).report).toMatchObject({ ok: true, damaged: [] });
    expect(await repair()).toBe(0);
  });
});
