import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchClosure } from '../../src/fetch/fetch-closure.js';
import { pushDirectory } from '../../src/packages/push-directory.js';
import { openStore } from '../../src/store/open-store.js';
import { describeTree, generateTree } from '../helpers/tree-gen.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('push and fetch on the directory store', () => {
  it('round-trips a tree with 0 B to 8 MB files, executables, symlinks and Unicode names', async () => {
    const t = await makeTempDir();
    cleanups.push(t.cleanup);
    const src = join(t.dir, 'src');
    await mkdir(src);
    await generateTree(src, { seed: 7, files: 60, minSize: 1, maxSize: 300_000, symlinks: 8, unicode: true, executableRatio: 0.2, fixedSizes: [0, 1, 2048, 2049, 8 * 1024 * 1024] });
    const store = openStore(join(t.dir, 'store'));
    const key = makeKeyPair('test-1');
    const pushed = await pushDirectory(store, src, { name: 'app', signKeys: [key.secret] });
    expect(pushed.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const state = join(t.dir, 'state');
    const r = await fetchClosure({ stores: [store], digest: pushed.digest, policy: { trusted: [key.public] }, stateDir: state });
    expect(r.packages).toHaveLength(1);
    const pkg = r.packages[0]!;
    expect(pkg.path).toBe(join(state, 'store', `${pushed.digest.slice(7)}-app`));
    const want = await describeTree(src);
    const got = await describeTree(pkg.path);
    expect([...got.keys()]).toEqual([...want.keys()]);
    for (const [p, w] of want) {
      const g = got.get(p)!;
      expect(g.type).toBe(w.type);
      if (w.type === 'file') {
        expect(g.sha256).toBe(w.sha256);
        expect(g.mode).toBe((w.mode & 0o111) !== 0 ? 0o555 : 0o444);
      } else if (w.type === 'dir') expect(g.mode).toBe(0o555);
      else expect(g.target).toBe(w.target);
    }
    expect((await stat(pkg.path)).mode & 0o777).toBe(0o555);
    // Re-fetch: nothing transferred, same path.
    const again = await fetchClosure({ stores: [store], digest: pushed.digest, policy: { trusted: [key.public] }, stateDir: state });
    expect(again.bytesFetched).toBe(0);
    expect(again.objectsFetched).toBe(0);
    expect(again.packages[0]!.path).toBe(pkg.path);
    // Re-push of the unchanged tree uploads nothing.
    const again2 = await pushDirectory(store, src, { name: 'app', signKeys: [key.secret] });
    expect(again2.digest).toBe(pushed.digest);
    expect(again2.uploadedObjects).toBe(0);
  });
});
