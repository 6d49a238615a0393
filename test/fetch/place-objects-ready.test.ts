// placeObjects with `ready` (fetch-closure.ts begins the package trees ahead, and asks for objects while their
// directories are still being made): every object is asked for at once, but nothing is written until `ready`
// settles, and a `ready` that fails is the failure of every write. A real HTTP store (packs through its own
// reader, single objects through the HTTP client), real worker threads, real files.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchCommitter } from '../../src/fetch/batch-commit.js';
import { threadFsOpRunner } from '../../src/fetch/fs-op-runner.js';
import { cacheWithHomes } from '../../src/fetch/object-homes.js';
import { openObjectCache } from '../../src/fetch/object-cache.js';
import { placeObjects, type Wanted } from '../../src/fetch/place-objects.js';
import { planPacks } from '../../src/fetch/plan-packs.js';
import { readClosureManifests } from '../../src/fetch/read-closure.js';
import type { LoadedManifest } from '../../src/packages/manifest-types.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

/** `store`, with a log of every object asked for, by readInto (a pack) or get/getBytes. */
function logged(store: Store, log: string[]): Store {
  const wrapped = Object.create(store) as Store;
  const readInto = store.readInto?.bind(store);
  if (readInto) wrapped.readInto = (key, size, consume, o) => (log.push(key), readInto(key, size, consume, o));
  wrapped.getBytes = (key, o) => (log.push(key), store.getBytes(key, o));
  wrapped.get = (key, o) => (log.push(key), store.get(key, o));
  return wrapped;
}

describe('placeObjects waits for `ready` before writing, not before asking', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let http: HttpStoreServer;
  let faulty: FaultServer;
  let pkg: LoadedManifest;
  let n = 0;

  beforeAll(async () => {
    t = await makeTempDir();
    const src = join(t.dir, 'src');
    await mkdir(src);
    for (let i = 0; i < 6; i++) await writeFile(join(src, `f${i}`), `${i} ${'y'.repeat(30_000 + i)}\n`);
    const storeDir = join(t.dir, 'store');
    const { digest } = await pushDirectory(openStore(storeDir), src, { name: 'pkg' });
    http = await startHttpStoreServer(storeDir);
    faulty = await startFaultServer(storeDir);
    faulty.setFault('objects/', 'reset');
    pkg = (await readClosureManifests([openStore(http.url)], digest)).packages[0] as LoadedManifest;
  });
  afterAll(async () => {
    await http.close();
    await faulty.close();
    await t.cleanup();
  });

  /** Places pkg's objects at homes in a tree made only when `gate` is called; returns what happened. */
  async function place(usePacks: boolean, makeTree: boolean, url = http.url): Promise<{ log: string[]; beforeReady: string[]; tree: string; homes: Map<Digest, string>; err?: unknown; packFailures: number; packs: number }> {
    const state = join(t.dir, `state-${n++}`);
    const tree = join(state, 'tree');
    const cache = await openObjectCache(state);
    const log: string[] = [];
    const store = logged(openStore(url), log);
    const wanted: Wanted[] = pkg.manifest.entries.flatMap((e) => (e.type === 'file' ? [{ digest: e.digest, size: e.size }] : []));
    const homes = new Map(pkg.manifest.entries.flatMap((e) => (e.type === 'file' ? [[e.digest, join(tree, e.path)] as const] : [])));
    const packs = usePacks ? await planPacks(store, [pkg], new Map(wanted.map((w) => [w.digest, w.size]))) : [];
    if (usePacks) expect(packs.length).toBeGreaterThan(0);
    log.length = 0;
    let open!: (err?: Error) => void;
    const ready = new Promise<void>((resolve, reject) => (open = (err) => (err ? reject(err) : resolve())));
    ready.catch(() => undefined);
    const fsOps = threadFsOpRunner(1);
    let packFailures = 0;
    let beforeReady: string[] = [];
    try {
      const placing = placeObjects({ stores: [store], cache: cacheWithHomes(cache, homes), fsOps, committer: createBatchCommitter(cache, false, fsOps, homes), concurrency: 8, onBytes: () => undefined, onObject: () => undefined, packs, ready, onPack: (_d, err) => void (err === undefined ? undefined : packFailures++) }, wanted, []);
      placing.catch(() => undefined);
      // Every object (or its pack) is asked for before the tree exists.
      for (let i = 0; i < 200 && log.length < (usePacks ? packs.length : wanted.length); i++) await new Promise((r) => setTimeout(r, 5));
      beforeReady = [...log];
      await new Promise((r) => setTimeout(r, 50));
      if (makeTree) {
        expect(await readdir(state)).not.toContain('tree');
        await mkdir(tree);
        open();
      } else open(Object.assign(new Error('mkdir failed'), { code: 'EACCES' }));
      const err = await placing.then(() => undefined, (e: unknown) => e);
      return { log, beforeReady, tree, homes, err, packFailures, packs: packs.length };
    } finally {
      await fsOps.close();
    }
  }

  it.each([
    { what: 'packs, through the store reader', usePacks: true },
    { what: 'single objects, through the HTTP client', usePacks: false },
  ])('$what: asked for before the tree exists, written at their homes once it does', async ({ usePacks }) => {
    const r = await place(usePacks, true);
    expect(r.err).toBeUndefined();
    expect(r.packFailures).toBe(0);
    // Each pack (stored as an object) or each object, asked for while the tree did not exist.
    expect(r.beforeReady.length).toBe(usePacks ? r.packs : pkg.manifest.entries.filter((e) => e.type === 'file').length);
    for (const e of pkg.manifest.entries) if (e.type === 'file') expect((await readFile(r.homes.get(e.digest) as string)).length).toBe(e.size);
  });

  it('a body that fails while its file waits for `ready`: the store error, at once, not an unhandled one or a wait for the deadline', async () => {
    // The fault server sends half of each object, then resets the connection 20 ms later, while the
    // tree is still not made (50 ms): the error comes before anything listens to the body.
    const r = await place(false, true, faulty.url);
    expect(r.err).toMatchObject({ code: 'TransportError' });
    expect(String((r.err as Error).message)).toMatch(/could not be fetched: .*: TransportError: get objects\/sha256\//);
  });

  it('a `ready` that fails fails the placing with its own error, not a store error', async () => {
    const r = await place(true, false);
    expect(r.err).toMatchObject({ code: 'EACCES', message: 'mkdir failed' });
  });
});
