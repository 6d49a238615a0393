// An object only executables use is cached as its 0555 variant alone (no plain copy that nothing links);
// one used both ways keeps both inodes; a hard link to a directory store's own file is never chmodded.
// Real directory store, real loopback HTTP (the project's static server, packs on a worker thread).
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchClosure } from '../../src/fetch/fetch-closure.js';
import { hashBytes } from '../../src/packages/manifest-codec.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { objectKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

describe('executable-only objects', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let root: string;
  let dirStore: Store;
  let srv: HttpStoreServer;
  const key = makeKeyPair('ci-1');
  // Big enough to travel in a pack and be written directly; 'tool' only as an executable, 'shared' both ways.
  const tool = Buffer.alloc(300_000, 7);
  const shared = Buffer.alloc(200_000, 9);
  const toolD = hashBytes(tool);
  const sharedD = hashBytes(shared);
  let v1: Digest;
  let v2: Digest;
  let n = 0;

  beforeAll(async () => {
    t = await makeTempDir();
    root = join(t.dir, 'store');
    dirStore = openStore(root);
    const src = join(t.dir, 'v1');
    await mkdir(join(src, 'bin'), { recursive: true });
    await writeFile(join(src, 'bin', 'tool'), tool);
    await chmod(join(src, 'bin', 'tool'), 0o755);
    await writeFile(join(src, 'bin', 'shared'), shared);
    await chmod(join(src, 'bin', 'shared'), 0o755);
    await writeFile(join(src, 'shared.copy'), shared);
    for (let i = 0; i < 8; i++) await writeFile(join(src, `f${i}`), Buffer.alloc(70_000, i + 20));
    v1 = (await pushDirectory(dirStore, src, { name: 'app', signKeys: [key.secret] })).digest;
    // v2 also has tool's bytes as a plain file.
    await writeFile(join(src, 'tool.txt'), tool);
    v2 = (await pushDirectory(dirStore, src, { name: 'app', signKeys: [key.secret] })).digest;
    srv = await startHttpStoreServer(root);
  });
  afterAll(async () => {
    await srv.close();
    await t.cleanup();
  });

  const cached = (state: string, d: Digest, x = false): string => join(state, 'objects', 'sha256', d.slice(7, 9), `${d.slice(7)}${x ? '.x' : ''}`);

  it.each(['http', 'directory, copied', 'directory, hard-linked'] as const)('from %s: one 0555 inode for an executable-only object, two for one used both ways', async (how) => {
    const state = join(t.dir, `state-${n++}`);
    const stores = [how === 'http' ? openStore(srv.url) : dirStore];
    const r = await fetchClosure({ stores, digest: v1, policy: { trusted: [key.public] }, stateDir: state, linkLocal: how === 'directory, hard-linked' });
    const pkg = r.packages[0]!.path;
    expect((await stat(join(pkg, 'bin', 'tool'))).mode & 0o777).toBe(0o555);
    expect((await stat(join(pkg, 'shared.copy'))).mode & 0o777).toBe(0o444);
    expect((await stat(cached(state, sharedD))).mode & 0o777).toBe(0o444);
    expect((await stat(cached(state, sharedD, true))).mode & 0o777).toBe(0o555);
    expect((await stat(cached(state, toolD, true))).ino).toBe((await stat(join(pkg, 'bin', 'tool'))).ino);
    // A hard link to the store's own 0444 file cannot become the 0555 variant: it is copied as before,
    // and the store's file keeps its mode.
    expect(await exists(cached(state, toolD))).toBe(how === 'directory, hard-linked');
    expect((await stat(join(root, objectKey(toolD)))).mode & 0o777).toBe(0o444);
  });

  it('a later closure using the bytes as a plain file gets its plain variant', async () => {
    const state = join(t.dir, `state-${n++}`);
    const http = openStore(srv.url);
    await fetchClosure({ stores: [http], digest: v1, policy: { trusted: [key.public] }, stateDir: state });
    expect(await exists(cached(state, toolD))).toBe(false);
    const r = await fetchClosure({ stores: [http], digest: v2, policy: { trusted: [key.public] }, stateDir: state });
    const pkg = r.packages[0]!.path;
    expect((await stat(join(pkg, 'tool.txt'))).mode & 0o777).toBe(0o444);
    expect((await stat(cached(state, toolD))).mode & 0o777).toBe(0o444);
    expect((await stat(join(pkg, 'bin', 'tool'))).mode & 0o777).toBe(0o555);
    // Only the one object it lacked, no pack: the rest came from the cache.
    expect(r.objectsFetched).toBe(1);
  });
});
