// The closure's manifests and root signatures go into the cache while its objects are fetched (fetch-closure.ts,
// `cacheLater`), no longer before the first object is asked for. A write that fails must still fail the fetch,
// and leave nothing published: the fetch awaits the writes before it publishes anything.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchClosure } from '../../src/fetch/fetch-closure.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';

describe('the manifest cache written during the fetch', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let http: HttpStoreServer;
  let app: Digest;
  const key = makeKeyPair('release-1');

  beforeAll(async () => {
    t = await makeTempDir();
    const src = join(t.dir, 'src');
    await mkdir(join(src, 'bin'), { recursive: true });
    for (let i = 0; i < 8; i++) await writeFile(join(src, 'bin', `f${i}`), `${i} ${'x'.repeat(20_000 + i)}\n`);
    const storeDir = join(t.dir, 'store');
    app = (await pushDirectory(openStore(storeDir), src, { name: 'app', signKeys: [key.secret] })).digest;
    http = await startHttpStoreServer(storeDir);
  });
  afterAll(async () => {
    await http.close();
    await t.cleanup();
  });

  it('holds the manifest and the root signature once the fetch returns', async () => {
    const state = join(t.dir, 'state-ok');
    const r = await fetchClosure({ stores: [openStore(http.url)], digest: app, policy: { trusted: [key.public] }, stateDir: state });
    expect(r.packages.map((p) => p.digest)).toEqual([app]);
    const hex = app.slice(7);
    expect(await readdir(join(state, 'objects', 'sha256', hex.slice(0, 2)))).toContain(hex);
    expect(await readdir(join(state, 'objects', 'sig', hex.slice(0, 2)))).toEqual([`${hex}.release-1`]);
  });

  it('a signature that cannot be cached fails the fetch, with nothing published and no temp left', async () => {
    const state = join(t.dir, 'state-bad');
    // A file where the signatures' directory belongs: its write fails with ENOTDIR, and nothing else does.
    await mkdir(join(state, 'objects'), { recursive: true });
    await writeFile(join(state, 'objects', 'sig'), 'not a directory');
    const err = await fetchClosure({ stores: [openStore(http.url)], digest: app, policy: { trusted: [key.public] }, stateDir: state }).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err?.code, err?.message).toBe('ENOTDIR');
    expect(await readdir(join(state, 'store'))).toEqual([]);
    expect(await readdir(join(state, 'objects', 'tmp'))).toEqual([]);
  });
});
