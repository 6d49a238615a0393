import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchClosure } from '../../src/fetch/fetch-closure.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
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

  it.each([
    { how: 'hard-linked (our uid, read-only), on the calling thread', opts: { fsThreads: 0 }, shared: true },
    { how: 'hard-linked, on two worker threads', opts: { fsThreads: 2 }, shared: true },
    { how: 'copied (linkLocal: false), on two worker threads', opts: { fsThreads: 2, linkLocal: false }, shared: false },
  ])('an object of a directory store on the same filesystem is $how, and verified all the same', async ({ opts, shared }) => {
    const t = await makeTempDir();
    cleanups.push(t.cleanup);
    const src = join(t.dir, 'src');
    await mkdir(src);
    await generateTree(src, { seed: 11, files: 30, minSize: 3000, maxSize: 200_000, symlinks: 2, executableRatio: 0.2 });
    const store = openStore(join(t.dir, 'store'));
    const key = makeKeyPair('test-1');
    const pushed = await pushDirectory(store, src, { name: 'app', signKeys: [key.secret] });
    const state = join(t.dir, 'state');
    const r = await fetchClosure({ stores: [store], digest: pushed.digest, policy: { trusted: [key.public] }, stateDir: state, ...opts });
    const want = await describeTree(src);
    const got = await describeTree(r.packages[0]!.path);
    let plain = 0;
    for (const [p, w] of want) {
      if (w.type !== 'file') continue;
      const g = got.get(p)!;
      expect(g.sha256).toBe(w.sha256);
      const executable = (w.mode & 0o111) !== 0;
      expect(g.mode).toBe(executable ? 0o555 : 0o444);
      const storeFile = join(t.dir, 'store', 'objects', 'sha256', w.sha256!.slice(0, 2), w.sha256!);
      // An executable needs a 0555 inode of its own, so it is always a copy.
      const same = (await stat(join(r.packages[0]!.path, p))).ino === (await stat(storeFile)).ino;
      expect(same).toBe(shared && !executable);
      if (!executable) plain++;
    }
    expect(plain).toBeGreaterThan(10);
  });
});

