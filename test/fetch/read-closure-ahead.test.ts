// Reading a closure's manifests: a level of references is asked for at once (not one round trip after
// another), each manifest is handed to onManifest only once the root's signatures hold, and a read ahead
// that fails is reported in its own turn, never as an unhandled rejection. A real directory store, wrapped
// to hold each read back a little and log when it starts and ends.
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openObjectCache } from '../../src/fetch/object-cache.js';
import { readClosureManifests } from '../../src/fetch/read-closure.js';
import type { LoadedManifest } from '../../src/packages/manifest-types.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { objectKey, signatureKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { rawManifest, serveManifest } from '../helpers/craft-manifest.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';

const HOLD_MS = 30;

/** `store`, each getBytes answered HOLD_MS late, with `log` of 'start KEY' and 'end KEY'. */
function slowed(store: Store, log: string[]): Store {
  return Object.assign(Object.create(store) as Store, {
    async getBytes(key: string, options: { maxBytes: number; signal?: AbortSignal }): Promise<Buffer> {
      log.push(`start ${key}`);
      await new Promise((r) => setTimeout(r, HOLD_MS));
      try {
        return await store.getBytes(key, options);
      } finally {
        log.push(`end ${key}`);
      }
    },
  });
}

describe('reading a closure: references a level at a time, onManifest after the policy', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let storeDir: string;
  const key = makeKeyPair('rel-1');
  const stranger = makeKeyPair('rel-1');
  const libs: Record<string, Digest> = {};
  let app: Digest;
  beforeAll(async () => {
    t = await makeTempDir();
    storeDir = join(t.dir, 'store');
    const store = openStore(storeDir);
    const push = async (name: string, references: Digest[] = [], sign = false): Promise<Digest> => {
      await mkdir(join(t.dir, name), { recursive: true });
      await writeFile(join(t.dir, name, 'f'), name);
      return (await pushDirectory(store, join(t.dir, name), { name, references, ...(sign ? { signKeys: [key.secret] } : {}) })).digest;
    };
    libs.d = await push('lib-d');
    libs.a = await push('lib-a');
    libs.b = await push('lib-b');
    libs.c = await push('lib-c', [libs.d]);
    app = await push('app', [libs.a, libs.b, libs.c], true);
  });
  afterAll(async () => t.cleanup());

  it('asks for a level of references at once, and hands every manifest on once the root is signed', async () => {
    const log: string[] = [];
    const seen: LoadedManifest[] = [];
    const c = await readClosureManifests([slowed(openStore(storeDir), log)], app, { policy: { trusted: [key.public] }, onManifest: (m) => seen.push(m) });
    expect(c.packages.map((p) => p.manifest.name)).toEqual(['app', ...c.packages.slice(1, 4).map((p) => p.manifest.name), 'lib-d']);
    expect(c.packages.map((p) => p.manifest.name).sort()).toEqual(['app', 'lib-a', 'lib-b', 'lib-c', 'lib-d']);
    const refs = [libs.a, libs.b, libs.c].map((d) => objectKey(d as Digest));
    const firstEnd = Math.min(...refs.map((k) => log.indexOf(`end ${k}`)));
    // All three were asked for before the first of them answered.
    for (const k of refs) expect(log.indexOf(`start ${k}`)).toBeLessThan(firstEnd);
    // Nothing of the references before the root's signature was read.
    const sig = log.findIndex((l) => l.startsWith('end signatures/'));
    expect(sig).toBeGreaterThan(-1);
    for (const k of refs) expect(log.indexOf(`start ${k}`)).toBeGreaterThan(sig);
    await new Promise((r) => setImmediate(r));
    expect(seen.map((m) => m.manifest.name).sort()).toEqual(['app', 'lib-a', 'lib-b', 'lib-c', 'lib-d']);
  });

  it("asks for the root's signature beside the root's bytes, not once they are in", async () => {
    const log: string[] = [];
    await readClosureManifests([slowed(openStore(storeDir), log)], app, { policy: { trusted: [key.public] } });
    const sig = log.indexOf(`start ${signatureKey(app, key.public.name)}`);
    expect(sig).toBeGreaterThan(-1);
    expect(sig).toBeLessThan(log.indexOf(`end ${objectKey(app)}`));
    // Asked for once, though both halves of the check wanted it.
    expect(log.filter((l) => l.startsWith('start signatures/'))).toHaveLength(1);
  });

  it("a cache holding the root's signature: the store is not asked for it early either", async () => {
    const state = join(t.dir, 'state-signed');
    const cache = await openObjectCache(state);
    await readClosureManifests([openStore(storeDir)], app, { policy: { trusted: [key.public] }, cache });
    // The manifests gone from the cache, the signature kept: the manifests are read from the store again.
    for (const d of [app, ...Object.values(libs)]) await rm(cache.path(d));
    const log: string[] = [];
    await readClosureManifests([slowed(openStore(storeDir), log)], app, { policy: { trusted: [key.public] }, cache });
    expect(log).toContain(`start ${objectKey(app)}`);
    expect(log.filter((l) => l.startsWith('start signatures/'))).toEqual([]);
  });

  it('a root signed by no trusted key: onManifest is never called and no reference is asked for', async () => {
    const log: string[] = [];
    const seen: LoadedManifest[] = [];
    const err = await readClosureManifests([slowed(openStore(storeDir), log)], app, { policy: { trusted: [stranger.public] }, onManifest: (m) => seen.push(m) }).catch((e: unknown) => e as { code: string });
    expect(err).toMatchObject({ code: 'SignatureError' });
    await new Promise((r) => setTimeout(r, HOLD_MS * 2));
    expect(seen).toEqual([]);
    for (const d of Object.values(libs)) expect(log).not.toContain(`start ${objectKey(d)}`);
  });

  it('manifests from the local cache are decoded while the signatures are read, but handed on only if they hold', async () => {
    const cache = await openObjectCache(join(t.dir, 'state'));
    await readClosureManifests([openStore(storeDir)], app, { policy: { trusted: [key.public] }, cache });
    const seen: LoadedManifest[] = [];
    const err = await readClosureManifests([openStore(storeDir)], app, { policy: { trusted: [stranger.public] }, cache, onManifest: (m) => seen.push(m) }).catch((e: unknown) => e as { code: string });
    expect(err).toMatchObject({ code: 'SignatureError' });
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([]);
    await readClosureManifests([openStore(storeDir)], app, { policy: { trusted: [key.public] }, cache, onManifest: (m) => seen.push(m) });
    await new Promise((r) => setImmediate(r));
    expect(seen).toHaveLength(5);
  });

  it("asks for a manifest's references once its bytes hashed right, before its tree rules: a root that fails them still fails", async () => {
    const store = openStore(storeDir);
    // Canonical, signed, fields right, but its entries out of order: refused by the tree rules alone.
    const root = await serveManifest(store, rawManifest({ name: 'unsorted', entries: [{ type: 'dir', path: 'b' }, { type: 'dir', path: 'a' }], references: [libs.d as Digest] }), key.secret);
    const log: string[] = [];
    const err = await readClosureManifests([slowed(store, log)], root, { policy: { trusted: [key.public] } }).catch((e: unknown) => e as { code: string; message: string });
    expect(err).toMatchObject({ code: 'ManifestError' });
    expect((err as { message: string }).message).toContain(root);
    expect((err as { message: string }).message).toContain('not sorted');
    expect(log).toContain(`start ${objectKey(libs.d as Digest)}`);
    await new Promise((r) => setTimeout(r, HOLD_MS * 2));
  });

  it('asks for none of them early when they are more than the limit allows', async () => {
    const log: string[] = [];
    const err = await readClosureManifests([slowed(openStore(storeDir), log)], app, { policy: { trusted: [key.public] }, limits: { maxReferences: 2 } }).catch((e: unknown) => e as { code: string; message: string });
    expect(err).toMatchObject({ code: 'ManifestError' });
    expect((err as { message: string }).message).toContain('more than the limit 2');
    await new Promise((r) => setTimeout(r, HOLD_MS * 2));
    for (const d of Object.values(libs)) expect(log).not.toContain(`start ${objectKey(d)}`);
  });

  it('two references bad at once: the first in order is reported, the other, read ahead, fails quietly', async () => {
    const bad = join(t.dir, 'bad-store');
    // A copy of the closure where the first reference's bytes are altered and the second is gone.
    await cp(storeDir, bad, { recursive: true });
    const store = openStore(bad);
    const order = (await readClosureManifests([openStore(storeDir)], app)).packages.map((p) => p.digest);
    const [first, second] = [order[1] as Digest, order[2] as Digest];
    await store.put(objectKey(first), Buffer.from('{"not":"it"}'));
    await store.delete(objectKey(second));
    const err = await readClosureManifests([slowed(store, [])], app, { policy: { trusted: [key.public] } }).catch((e: unknown) => e as { code: string; message: string });
    expect(err).toMatchObject({ code: 'IntegrityError' });
    expect((err as { message: string }).message).toContain(first);
    // The second one's failed read settles after this; an unhandled rejection would fail the run.
    await new Promise((r) => setTimeout(r, HOLD_MS * 2));
  });
});
