// A cold fetch asks for each package's pack hint beside its manifest, not one round trip after it: the
// hint needs only the digest, which is the closure's (the caller's for the root, hashed and signed bytes'
// for the rest). On a link with latency the largest package, last in the chain of references, then has
// its hint in before the closure is planned. Over the project's real static HTTP server, through a store
// that logs when each key is asked for and when its bytes are back.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchClosure } from '../../src/fetch/fetch-closure.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { objectKey, packHintKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';
import { generateTree } from '../helpers/tree-gen.js';

describe('a cold fetch asks for each pack hint with its manifest', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let srv: HttpStoreServer;
  let lib: Digest;
  let app: Digest;
  const key = makeKeyPair('ci-1');

  beforeAll(async () => {
    t = await makeTempDir();
    const dirStore = openStore(join(t.dir, 'store'));
    for (const [name, seed] of [['lib', 11], ['app', 12]] as const) {
      await mkdir(join(t.dir, name));
      await generateTree(join(t.dir, name), { seed, files: 30, minSize: 3000, maxSize: 200_000 });
    }
    const pushedLib = await pushDirectory(dirStore, join(t.dir, 'lib'), { name: 'lib', signKeys: [key.secret] });
    const pushedApp = await pushDirectory(dirStore, join(t.dir, 'app'), { name: 'app', signKeys: [key.secret], references: [pushedLib.digest] });
    expect(pushedLib.packs).toBeGreaterThanOrEqual(1);
    expect(pushedApp.packs).toBeGreaterThanOrEqual(1);
    lib = pushedLib.digest;
    app = pushedApp.digest;
    srv = await startHttpStoreServer(join(t.dir, 'store'));
  });
  afterAll(async () => {
    await srv.close();
    await t.cleanup();
  });

  /** The HTTP store, logging `ask KEY` as each small read starts and `got KEY` once its bytes are back. */
  function logged(log: string[]): Store {
    const http = openStore(srv.url);
    return {
      ...http,
      getBytes: async (k, o) => {
        log.push(`ask ${k}`);
        const bytes = await http.getBytes(k, o);
        log.push(`got ${k}`);
        return bytes;
      },
    };
  }

  it('every package\'s hint is asked for before its manifest\'s bytes are back, and its packs are used', async () => {
    const log: string[] = [];
    const r = await fetchClosure({ stores: [logged(log)], digest: app, policy: { trusted: [key.public] }, stateDir: join(t.dir, 'cold') });
    expect(r.packages.map((p) => p.digest)).toEqual([app, lib]);
    expect(r.packsFetched).toBeGreaterThanOrEqual(2);
    expect(r.packFallbacks).toBe(0);
    for (const d of [app, lib]) {
      const asked = log.indexOf(`ask ${packHintKey(d)}`);
      const manifestBack = log.indexOf(`got ${objectKey(d)}`);
      expect(asked, `the hint of ${d}: ${log.join(', ')}`).toBeGreaterThanOrEqual(0);
      expect(manifestBack).toBeGreaterThanOrEqual(0);
      expect(asked, `the hint of ${d} was asked for only after its manifest was back: ${log.join(', ')}`).toBeLessThan(manifestBack);
      // Once each: the hint asked with the manifest is the one the plan uses.
      expect(log.filter((l) => l === `ask ${packHintKey(d)}`).length).toBe(1);
    }
  });

  it('into a state dir that has packages, hints are left to the plan: none beside a manifest, none for a package in place', async () => {
    const state = join(t.dir, 'warm');
    await fetchClosure({ stores: [openStore(srv.url)], digest: lib, policy: { trusted: [key.public] }, stateDir: state });
    const log: string[] = [];
    await fetchClosure({ stores: [logged(log)], digest: app, policy: { trusted: [key.public] }, stateDir: state });
    // The app lacks all its bytes, so the plan asks for its hint: once the closure is read.
    expect(log.filter((l) => l.startsWith('ask packs/'))).toEqual([`ask ${packHintKey(app)}`]);
    expect(log.indexOf(`ask ${packHintKey(app)}`)).toBeGreaterThan(log.indexOf(`got ${objectKey(app)}`));
  });
});
