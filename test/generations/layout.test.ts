// One module builds every name inside the state dir: what fetch materialises is exactly what staging links
// to, and a name that cannot be one path segment is refused by the one builder, wherever it comes from.
import { mkdir, readdir, realpath, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchClosure } from '../../src/fetch/fetch-closure.js';
import { readGeneration, setPaths, stageGeneration } from '../../src/generations/index.js';
import {
  isTempName,
  objectPath,
  objectTempOwner,
  objectTempPath,
  objectTempTag,
  packageDirName,
  packageLinkTarget,
  packagePartialName,
  packagePath,
  partialOwner,
  tempName,
} from '../../src/generations/layout.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import { openStore } from '../../src/store/open-store.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';
import { digestOf } from './fixture.js';

describe('the state-dir layout has one owner', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    t = await makeTempDir('flotilla-layout-');
  });
  afterAll(async () => {
    await t.cleanup();
  });

  // `+` is allowed by the manifest name rule; staging once refused it with the set-name rule.
  it.each(['app', 'libstdc++', 'py3.12_x-y'])('fetch materialises %s where staging expects it, and the generation links to it', async (name) => {
    const src = join(t.dir, `src-${name}`);
    await mkdir(join(src, 'bin'), { recursive: true });
    await writeFile(join(src, 'bin', 'run'), `#!/bin/sh\necho ${name}\n`, { mode: 0o755 });
    await writeFile(join(src, 'data.txt'), name);
    const key = makeKeyPair('layout');
    const store = openStore(join(t.dir, `store-${name}`));
    const { digest } = await pushDirectory(store, src, { name, signKeys: [key.secret] });
    const stateDir = join(t.dir, `state-${name}`);
    const fetched = await fetchClosure({ stores: [store], digest, policy: { trusted: [key.public] }, stateDir });
    expect(fetched.packages).toHaveLength(1);
    const [p] = fetched.packages;
    expect(p?.path).toBe(packagePath(stateDir, digest, name));
    expect(basename(p?.path ?? '')).toBe(packageDirName(digest, name));
    const { generation } = await stageGeneration({ stateDir, set: 'web', digest, packages: fetched.packages, origin: {} });
    const g = await readGeneration(setPaths(stateDir, 'web'), generation.dirName);
    expect(g.origin.packages).toEqual([{ digest, name }]);
    expect(await realpath(join(setPaths(stateDir, 'web').generationsDir, generation.dirName, name))).toBe(await realpath(p?.path ?? ''));
    expect((await readdir(join(stateDir, 'store'))).filter((n) => n.startsWith('.'))).toEqual([]);
    await store.close();
  });

  const BAD = ['', '.', '..', '../etc', 'a/b', '.hidden', '-x', 'sp ace', 'x'.repeat(129), 'nul\0'];
  it.each(BAD)('the one builder refuses the package name %j with InvalidNameError', (name) => {
    const d = digestOf('bad-name');
    for (const build of [() => packageDirName(d, name), () => packagePath('/state', d, name), () => packageLinkTarget(d, name), () => packagePartialName(d, name)]) {
      expect(build).toThrow(expect.objectContaining({ code: 'InvalidNameError' }) as Error);
    }
  });

  it('staging refuses a package whose name the builder refuses, before anything is written', async () => {
    const stateDir = join(t.dir, 'state-bad');
    const d = digestOf('x');
    await expect(stageGeneration({ stateDir, set: 'web', digest: d, packages: [{ digest: d, name: '../escape', path: join(stateDir, 'store', 'x') }], origin: {} })).rejects.toMatchObject({
      code: 'InvalidNameError',
    });
    await expect(readdir(stateDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('temp and partial names parse back to the process that made them', () => {
    const d = digestOf('temps');
    expect(partialOwner(packagePartialName(d, 'app'))).toBe(process.pid);
    expect(partialOwner(packageDirName(d, 'app'))).toBeUndefined();
    expect(objectTempOwner(basename(objectTempPath('/state', objectTempTag(), 35)))).toBe(process.pid);
    expect(isTempName(tempName('gen-3'))).toBe(true);
    expect(isTempName(packageDirName(d, 'app'))).toBe(false);
  });

  it('object and temp paths, put together by hand, are the paths path.join makes of their parts', () => {
    const d = digestOf('by hand');
    const hex = d.slice('sha256:'.length);
    for (const state of ['/state', '/', 'rel/state', './rel//state/', '/a/b/../c/']) {
      expect(objectPath(state, d), state).toBe(join(state, 'objects', 'sha256', hex.slice(0, 2), hex));
      expect(objectPath(state, d, true), state).toBe(join(state, 'objects', 'sha256', hex.slice(0, 2), `${hex}.x`));
      expect(objectTempPath(state, 'tag', 35), state).toBe(join(state, 'objects', 'tmp', 'tag-z'));
    }
  });
});
