import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchClosure } from '../../src/fetch/fetch-closure.js';
import { readClosureManifests } from '../../src/fetch/read-closure.js';
import { diffClosures } from '../../src/packages/diff-closures.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';
import { generateTree } from '../helpers/tree-gen.js';

describe('incremental fetch of a three-package closure', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let store: Store;
  const key = makeKeyPair('rel-1');
  const roots: Digest[] = [];
  const manifestBytes: Record<string, number> = {};
  beforeAll(async () => {
    t = await makeTempDir();
    store = openStore(join(t.dir, 'store'));
    for (const [name, seed] of [['runtime', 1], ['libs', 2], ['app', 3]] as const) {
      await mkdir(join(t.dir, 'v1', name), { recursive: true });
      await generateTree(join(t.dir, 'v1', name), { seed, files: 40, minSize: 100, maxSize: 50_000, symlinks: 2 });
    }
    await cp(join(t.dir, 'v1'), join(t.dir, 'v2'), { recursive: true, verbatimSymlinks: true });
    await writeFile(join(t.dir, 'v2', 'app', 'changed-a.bin'), Buffer.alloc(30_000, 1));
    await writeFile(join(t.dir, 'v2', 'libs', 'changed-b.bin'), Buffer.alloc(20_000, 2));
    for (const v of ['v1', 'v2']) {
      const rt = await pushDirectory(store, join(t.dir, v, 'runtime'), { name: 'runtime', signKeys: [key.secret] });
      const libs = await pushDirectory(store, join(t.dir, v, 'libs'), { name: 'libs', references: [rt.digest] });
      const app = await pushDirectory(store, join(t.dir, v, 'app'), { name: 'app', references: [libs.digest], signKeys: [key.secret] });
      manifestBytes[`${v}-libs`] = libs.manifestBytes;
      manifestBytes[`${v}-app`] = app.manifestBytes;
      roots.push(app.digest);
    }
  });
  afterAll(async () => t.cleanup());

  it('fetches v1, then only the two new objects and two new manifests for v2, then nothing', async () => {
    const state = join(t.dir, 'state');
    const policy = { trusted: [key.public] };
    const v1 = await fetchClosure({ stores: [store], digest: roots[0]!, policy, stateDir: state });
    expect(v1.packages.map((p) => p.name)).toEqual(['app', 'libs', 'runtime']);
    const v2 = await fetchClosure({ stores: [store], digest: roots[1]!, policy, stateDir: state });
    expect(v2.objectsFetched).toBe(2);
    expect(v2.bytesFetched).toBe(50_000);
    // Requests: 2 manifests + 1 signature + 2 objects (the runtime manifest is cached, unchanged).
    expect(v2.requests).toBe(5);
    expect(v2.packages.find((p) => p.name === 'runtime')?.path).toBe(v1.packages.find((p) => p.name === 'runtime')?.path);
    const noop = await fetchClosure({ stores: [store], digest: roots[1]!, policy, stateDir: state });
    // Nothing at all: the root's signature verifies from the cache (noop-no-request.test.ts).
    expect([noop.objectsFetched, noop.bytesFetched, noop.requests]).toEqual([0, 0, 0]);
  });

  it('diff predicts exactly those bytes', async () => {
    const a = await readClosureManifests([store], roots[0]!);
    const b = await readClosureManifests([store], roots[1]!);
    const d = diffClosures(a.packages, b.packages);
    expect(d.changed.map((c) => [c.name, c.added])).toEqual([['app', ['changed-a.bin']], ['libs', ['changed-b.bin']]]);
    expect(d.unchanged).toEqual(['runtime']);
    expect(d.bytesToFetch).toBe(50_000 + (manifestBytes['v2-libs'] ?? 0) + (manifestBytes['v2-app'] ?? 0));
  });
});
