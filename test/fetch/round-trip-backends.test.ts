import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchClosure } from '../../src/fetch/fetch-closure.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';
import { s3TestUrl } from '../helpers/s3-test-store.js';
import { describeTree, generateTree } from '../helpers/tree-gen.js';

interface Backend {
  name: string;
  open(): Promise<{ push: Store; fetch: Store }>;
}

let t: { dir: string; cleanup: () => Promise<void> };
let src: string;
const servers: HttpStoreServer[] = [];

beforeAll(async () => {
  t = await makeTempDir();
  src = join(t.dir, 'src');
  await mkdir(src);
  await generateTree(src, { seed: 11, files: 40, minSize: 1, maxSize: 200_000, symlinks: 6, unicode: true, executableRatio: 0.25, fixedSizes: [0, 100, 4096, 8 * 1024 * 1024] });
});

afterAll(async () => {
  for (const s of servers) await s.close();
  await t.cleanup();
});

const BACKENDS: Backend[] = [
  {
    name: 'Ceph RGW (s3://)',
    open: async () => {
      const s = openStore(await s3TestUrl('pkgs/'));
      return { push: s, fetch: s };
    },
  },
  {
    name: 'HTTP (read-only fetch, writable push)',
    open: async () => {
      const root = join(t.dir, 'http-root');
      await mkdir(root, { recursive: true });
      const srv = await startHttpStoreServer(root, { writable: true });
      servers.push(srv);
      return { push: openStore(srv.url, { writable: true }), fetch: openStore(srv.url) };
    },
  },
];

describe.each(BACKENDS)('round trip on $name', (backend) => {
  it('pushes a tree and fetches it back identical (bytes, modes, link targets), then re-fetches nothing', async () => {
    const { push, fetch } = await backend.open();
    const key = makeKeyPair('ci-1');
    const pushed = await pushDirectory(push, src, { name: 'svc', signKeys: [key.secret] });
    const state = join(t.dir, `state-${backend.name.length}`);
    const r = await fetchClosure({ stores: [fetch], digest: pushed.digest, policy: { trusted: [key.public] }, stateDir: state });
    const want = await describeTree(src);
    const got = await describeTree(r.packages[0]!.path);
    expect([...got.keys()]).toEqual([...want.keys()]);
    for (const [p, w] of want) {
      const g = got.get(p)!;
      if (w.type === 'file') expect([g.sha256, g.mode]).toEqual([w.sha256, (w.mode & 0o111) !== 0 ? 0o555 : 0o444]);
      else if (w.type === 'symlink') expect(g.target).toBe(w.target);
      else expect(g.type).toBe('dir');
    }
    expect(r.objectsFetched).toBe(pushed.objects);
    const again = await fetchClosure({ stores: [fetch], digest: pushed.digest, policy: { trusted: [key.public] }, stateDir: state });
    expect(again.objectsFetched).toBe(0);
    const repush = await pushDirectory(push, src, { name: 'svc', signKeys: [key.secret] });
    expect(repush.uploadedObjects).toBe(0);
  });
});
