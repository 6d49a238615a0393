import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, link, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitSwitch, gcGenerations, packageDirName, readCurrent, setPaths, stageGeneration, switchGeneration, type StagePackage } from '../../src/generations/index.js';
import { digestOf, makeStateDir } from './fixture.js';

let stateDir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ stateDir, cleanup } = await makeStateDir()));
afterEach(async () => cleanup());

/** Puts `content` in the object cache and returns its path (objects/sha256/ab/<hex>). */
async function cacheObject(content: string): Promise<string> {
  const hex = createHash('sha256').update(content).digest('hex');
  const dir = join(stateDir, 'objects', 'sha256', hex.slice(0, 2));
  await mkdir(dir, { recursive: true });
  const path = join(dir, hex);
  if (!existsSync(path)) await writeFile(path, content);
  return path;
}

/** Materialises a package the way fetch does: its file is a hardlink of a cache object. */
async function pkg(name: string, content: string): Promise<StagePackage> {
  const digest = digestOf(`${name}:${content}`);
  const path = join(stateDir, 'store', packageDirName(digest, name));
  await mkdir(path, { recursive: true });
  await link(await cacheObject(content), join(path, 'file'));
  await chmod(path, 0o555);
  return { digest, name, path };
}

async function stage(set: string, version: string): Promise<number> {
  const packages = [await pkg('app', `${set}-${version}-app`.padEnd(1000, '.')), await pkg('lib', `${set}-${version}-lib`)];
  return (await stageGeneration({ stateDir, set, digest: digestOf(`${set}:${version}`), packages, origin: {} })).generation.number;
}

async function deploy(set: string, version: string): Promise<void> {
  await switchGeneration(stateDir, set, await stage(set, version));
  await commitSwitch(stateDir, set);
}

const gens = async (set: string) => (await readdir(setPaths(stateDir, set).generationsDir)).map((n) => Number(n.split('-')[0])).sort();

describe('gcGenerations', () => {
  it('keeps current, previous active, the newest N and what they reference; removes the rest', async () => {
    for (const v of ['v1', 'v2', 'v3', 'v4']) await deploy('web', v);
    await stage('web', 'v5'); // staged, never switched
    await deploy('api', 'a1');
    await pkg('orphan', 'nobody links me');
    const cacheOnly = await cacheObject('a manifest, cached only');

    const dry = await gcGenerations({ stateDir, keep: 1, dryRun: true, graceMs: 0 });
    expect(await gens('web')).toEqual([1, 2, 3, 4, 5]);
    expect(existsSync(cacheOnly)).toBe(true);

    const r = await gcGenerations({ stateDir, keep: 1, graceMs: 0 });
    expect(r).toEqual(dry);
    expect(await gens('web')).toEqual([3, 4, 5]); // 4 current+active, 3 previous active, 5 newest
    expect(await gens('api')).toEqual([1]);
    expect(r.removed.filter((p) => p.startsWith('sets/'))).toHaveLength(2);
    expect(r.removed.filter((p) => p.startsWith('store/'))).toHaveLength(5); // v1, v2 (app+lib) and the orphan
    expect(existsSync(cacheOnly)).toBe(false);
    // The v1/v2 objects went with their packages; 1,000-byte app files of v1 and v2 at least.
    expect(r.freedBytes).toBeGreaterThanOrEqual(2000);
    const objects = (await readdir(join(stateDir, 'objects', 'sha256'), { recursive: true })).filter((n) => /[0-9a-f]{64}$/.test(n));
    expect(objects).toHaveLength(4 * 2); // web v3, v4, v5 and api a1, two objects each
    expect((await readCurrent(setPaths(stateDir, 'web').current))?.number).toBe(4);
    for (const n of ['app', 'lib']) expect(existsSync(join(setPaths(stateDir, 'web').current, n, 'file'))).toBe(true);
    expect(await gcGenerations({ stateDir, keep: 1, graceMs: 0 })).toMatchObject({ removed: [], freedBytes: 0 });
  });

  it('protects a rolled-back-to generation even with keep 0, and young packages by the grace period', async () => {
    await deploy('web', 'v1');
    await deploy('web', 'v2');
    const r = await gcGenerations({ stateDir, keep: 0 });
    expect(await gens('web')).toEqual([1, 2]);
    expect(r.removed).toEqual([]);
    await pkg('fresh', 'fetched but not yet staged');
    expect((await gcGenerations({ stateDir, keep: 0 })).removed).toEqual([]);
    await expect(gcGenerations({ stateDir, keep: -1 })).rejects.toThrow(RangeError);
  });
});
