import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchClosure, type FetchClosureResult } from '../../src/fetch/fetch-closure.js';
import { encodePackHeader, packableObjects, packHeaderBytes, type PackEntry } from '../../src/packages/pack-format.js';
import { parseManifest } from '../../src/packages/manifest-codec.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { objectKey, packHintKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';
import { describeTree, generateTree, type SeenEntry } from '../helpers/tree-gen.js';

// Packs over real loopback HTTP servers (the project's static store server, and the fault server for
// stalls and cut bodies), pushed by pushDirectory into a directory store that both serve.

describe('packs: a cold fetch in few requests, every object still checked against the manifest', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let src: string;
  let root: string;
  let dirStore: Store;
  let srv: HttpStoreServer;
  let http: Store;
  let digest: Digest;
  let objects: PackEntry[];
  // The 9 MiB file stays unpacked and splits the manifest's objects into runs: a few packs; the lies below
  // are told by the biggest.
  let hintPacks: Array<{ digest: Digest; first: number; count: number }>;
  let pack: { digest: Digest; first: number; count: number };
  let packBytes: Buffer;
  const key = makeKeyPair('ci-1');
  let n = 0;

  beforeAll(async () => {
    t = await makeTempDir();
    src = join(t.dir, 'src');
    root = join(t.dir, 'store');
    await mkdir(src);
    await generateTree(src, { seed: 5, files: 60, minSize: 3000, maxSize: 300_000, symlinks: 3, executableRatio: 0.2, fixedSizes: [9 * 1024 * 1024] });
    dirStore = openStore(root);
    const pushed = await pushDirectory(dirStore, src, { name: 'app', signKeys: [key.secret] });
    digest = pushed.digest;
    expect(pushed.packs).toBeGreaterThanOrEqual(1);
    srv = await startHttpStoreServer(root);
    http = openStore(srv.url);
    const manifest = parseManifest(await dirStore.getBytes(objectKey(digest), { maxBytes: 1 << 24 }), digest).manifest;
    objects = packableObjects(manifest);
    const hint = JSON.parse((await dirStore.getBytes(packHintKey(digest), { maxBytes: 1 << 20 })).toString('utf8')) as { packs: Array<{ digest: Digest; first: number; count: number }> };
    hintPacks = hint.packs;
    expect(hintPacks.length).toBe(pushed.packs);
    pack = [...hintPacks].sort((a, b) => b.count - a.count)[0] as { digest: Digest; first: number; count: number };
    packBytes = await dirStore.getBytes(objectKey(pack.digest), { maxBytes: 1 << 26 });
  });
  afterAll(async () => {
    await srv.close();
    await t.cleanup();
  });

  const packEntries = (): PackEntry[] => objects.slice(pack.first, pack.first + pack.count);
  const restorePack = (): Promise<unknown> => dirStore.put(objectKey(pack.digest), packBytes);

  async function fetchFrom(stores: Store[], extra: { packs?: boolean } = {}): Promise<{ state: string; r?: FetchClosureResult; err?: { code: string; message: string } }> {
    const state = join(t.dir, `state-${n++}`);
    try {
      const r = await fetchClosure({ stores, digest, policy: { trusted: [key.public] }, stateDir: state, ...extra });
      return { state, r };
    } catch (err) {
      return { state, err: err as { code: string; message: string } };
    }
  }

  async function expectIdentical(state: string, r: FetchClosureResult | undefined): Promise<void> {
    const pkg = r?.packages[0]?.path ?? join(state, 'missing');
    const want = await describeTree(src);
    const got = await describeTree(pkg);
    expect([...got.keys()]).toEqual([...want.keys()]);
    const normal = (e: SeenEntry): SeenEntry => (e.type === 'file' ? { ...e, mode: (e.mode & 0o111) !== 0 ? 0o555 : 0o444 } : e.type === 'dir' ? { ...e, mode: 0o555 } : e);
    for (const [p, e] of want) expect({ p, ...got.get(p) }).toEqual({ p, ...normal(e) });
    expect(await readdir(join(state, 'objects', 'tmp'))).toEqual([]);
  }

  it('push packs every object but the 9 MiB file, in manifest order, each pack behind its index', async () => {
    const packed = hintPacks.flatMap((p) => objects.slice(p.first, p.first + p.count));
    const big = objects.filter((o) => o.size > 8 * 1024 * 1024);
    expect(big).toHaveLength(1);
    // A run of one object between the big file and an end would be left out too: the tree has none.
    expect(packed.length + big.length).toBe(objects.length);
    for (const p of hintPacks) {
      const bytes = await dirStore.getBytes(objectKey(p.digest), { maxBytes: 1 << 26 });
      expect(bytes.subarray(0, packHeaderBytes(p.count)).equals(encodePackHeader(objects.slice(p.first, p.first + p.count)))).toBe(true);
    }
  });

  it('a cold fetch over HTTP takes the pack: a handful of requests instead of one per object, identical tree', async () => {
    const { state, r, err } = await fetchFrom([http]);
    expect(err).toBeUndefined();
    expect(r?.packsFetched).toBe(hintPacks.length);
    expect(r?.packFallbacks).toBe(0);
    expect(r?.objectsFetched).toBe(objects.length);
    // root manifest, its signature, the hint, the packs, the one unpacked object
    expect(r?.requests).toBe(4 + hintPacks.length);
    await expectIdentical(state, r);
  });

  it('an incremental fetch (one file changed) asks for no hint and no pack', async () => {
    const { state } = await fetchFrom([http]);
    const v2 = join(t.dir, 'src-v2');
    await generateTree(v2, { seed: 5, files: 60, minSize: 3000, maxSize: 300_000, symlinks: 3, executableRatio: 0.2, fixedSizes: [9 * 1024 * 1024] });
    await writeFile(join(v2, 'added.bin'), Buffer.alloc(5000, 3));
    const d2 = (await pushDirectory(dirStore, v2, { name: 'app', signKeys: [key.secret] })).digest;
    const r2 = await fetchClosure({ stores: [http], digest: d2, policy: { trusted: [key.public] }, stateDir: state });
    expect(r2.packsFetched).toBe(0);
    expect(r2.objectsFetched).toBe(1);
    // the new root manifest, its signature, the one new object
    expect(r2.requests).toBe(3);
  });

  it('a store pushed without packs (as before packs existed) is fetched object by object', async () => {
    const oldRoot = join(t.dir, 'old-store');
    const old = openStore(oldRoot);
    await pushDirectory(old, src, { name: 'app', signKeys: [key.secret], packs: false });
    await expect(old.head(packHintKey(digest))).rejects.toMatchObject({ code: 'NotFoundError' });
    const oldSrv = await startHttpStoreServer(oldRoot);
    try {
      const { state, r, err } = await fetchFrom([openStore(oldSrv.url)]);
      expect(err).toBeUndefined();
      expect(r?.packsFetched).toBe(0);
      expect(r?.requests).toBeGreaterThan(objects.length);
      await expectIdentical(state, r);
    } finally {
      await oldSrv.close();
    }
  });

  it('from a directory store, objects are copied or linked one by one unless packs are asked for', async () => {
    const plain = await fetchFrom([dirStore]);
    expect(plain.r?.packsFetched).toBe(0);
    await expectIdentical(plain.state, plain.r);
    const packed = await fetchFrom([dirStore], { packs: true });
    expect(packed.r?.packsFetched).toBe(hintPacks.length);
    await expectIdentical(packed.state, packed.r);
  });

  // Each lie below, if believed, would put wrong bytes under a right name or leave an object missing.
  const LIES: Array<{ what: string; make: () => Buffer }> = [
    {
      what: 'an object whose bytes do not hash to the manifest digest (one byte flipped in the last object)',
      make: () => {
        const b = Buffer.from(packBytes);
        b[b.length - 1] = (b[b.length - 1] ?? 0) ^ 0xff;
        return b;
      },
    },
    {
      what: 'an index whose size for an entry differs from the manifest (bytes shifted accordingly)',
      make: () => {
        const e = packEntries();
        const lied = e.map((x, i) => (i === 0 ? { ...x, size: x.size - 1 } : x));
        const h = packHeaderBytes(e.length);
        return Buffer.concat([encodePackHeader(lied), packBytes.subarray(h, h + (e[0]?.size ?? 0) - 1), packBytes.subarray(h + (e[0]?.size ?? 0))]);
      },
    },
    {
      what: 'an index naming an object the manifest does not put in this pack (an entry not wanted)',
      make: () => {
        const e = packEntries();
        const stranger: PackEntry = { digest: `sha256:${'ab'.repeat(32)}` as Digest, size: 4 };
        const h = packHeaderBytes(e.length);
        return Buffer.concat([encodePackHeader([...e.slice(0, -1), stranger]), packBytes.subarray(h, packBytes.length - (e.at(-1)?.size ?? 0)), Buffer.from('evil')]);
      },
    },
    {
      what: 'two entries swapped in index and body (each object intact, in the wrong place)',
      make: () => {
        const e = packEntries();
        const h = packHeaderBytes(e.length);
        const [a, b] = [e[0] as PackEntry, e[1] as PackEntry];
        const swapped = [b, a, ...e.slice(2)];
        return Buffer.concat([encodePackHeader(swapped), packBytes.subarray(h + a.size, h + a.size + b.size), packBytes.subarray(h, h + a.size), packBytes.subarray(h + a.size + b.size)]);
      },
    },
    { what: 'a truncated pack (its last 1000 bytes cut)', make: () => packBytes.subarray(0, packBytes.length - 1000) },
    { what: 'a pack cut inside its index', make: () => packBytes.subarray(0, 30) },
    { what: 'a pack with bytes past its last object', make: () => Buffer.concat([packBytes, Buffer.alloc(100, 1)]) },
    { what: 'a wrong magic', make: () => Buffer.concat([Buffer.from('NOTAPACK'), packBytes.subarray(8)]) },
  ];

  it.each(LIES)('a pack with $what falls back to per-object fetch: identical tree, nothing unverified kept', async ({ make }) => {
    await dirStore.put(objectKey(pack.digest), make());
    try {
      const { state, r, err } = await fetchFrom([http]);
      expect(err).toBeUndefined();
      expect(r?.packFallbacks).toBe(1);
      expect(r?.packsFetched).toBe(hintPacks.length - 1);
      await expectIdentical(state, r);
    } finally {
      await restorePack();
    }
  });

  it('a lying pack and the object also bad on its own: IntegrityError naming it, nothing half-written', async () => {
    const last = packEntries().at(-1) as PackEntry;
    const flipped = Buffer.from(packBytes);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 0xff;
    const own = await dirStore.getBytes(objectKey(last.digest), { maxBytes: last.size });
    await dirStore.put(objectKey(pack.digest), flipped);
    await dirStore.put(objectKey(last.digest), flipped.subarray(flipped.length - last.size));
    try {
      const { state, err } = await fetchFrom([http]);
      expect(err?.code).toBe('IntegrityError');
      expect(err?.message).toContain(last.digest);
      expect(await readdir(join(state, 'store'))).toEqual([]);
      expect(await readdir(join(state, 'objects', 'tmp'))).toEqual([]);
      const shard = await readdir(join(state, 'objects', 'sha256', last.digest.slice(7, 9))).catch(() => [] as string[]);
      expect(shard).not.toContain(last.digest.slice(7));
    } finally {
      await dirStore.put(objectKey(last.digest), own);
      await restorePack();
    }
  });

  it.each([
    { what: 'not JSON', bytes: () => Buffer.from('{nope') },
    { what: 'for another manifest', bytes: async () => Buffer.from((await dirStore.getBytes(packHintKey(digest), { maxBytes: 1 << 20 })).toString('utf8').replace(digest.slice(7, 20), '0'.repeat(13))) },
    { what: 'a run past the manifest objects', bytes: async () => Buffer.from((await dirStore.getBytes(packHintKey(digest), { maxBytes: 1 << 20 })).toString('utf8').replace(/"count":\d+/, '"count":100000')) },
  ])('a hint that is $what is ignored (no pack asked for), the fetch works', async ({ bytes }) => {
    const good = await dirStore.getBytes(packHintKey(digest), { maxBytes: 1 << 20 });
    await dirStore.put(packHintKey(digest), await bytes());
    try {
      const { state, r, err } = await fetchFrom([http]);
      expect(err).toBeUndefined();
      expect(r?.packsFetched).toBe(0);
      expect(r?.packFallbacks).toBe(0);
      await expectIdentical(state, r);
    } finally {
      await dirStore.put(packHintKey(digest), good);
    }
  });

  describe('over a misbehaving server', () => {
    let faults: FaultServer;
    beforeAll(async () => {
      faults = await startFaultServer(root);
    });
    afterAll(async () => faults.close());

    it.each([
      { fault: 'trickle' as const, url: (u: string) => `${u}?idleTimeout=300ms` },
      { fault: 'reset' as const, url: (u: string) => u },
      { fault: 'endless' as const, url: (u: string) => u },
      { fault: 'status-503' as const, url: (u: string) => `${u}?attempts=1` },
    ])('a pack that $fault falls back to per-object fetch within its deadlines', async ({ fault, url }) => {
      faults.setFault(objectKey(pack.digest), fault);
      try {
        const { state, r, err } = await fetchFrom([openStore(url(faults.url))]);
        expect(err).toBeUndefined();
        expect(r?.packFallbacks).toBe(1);
        await expectIdentical(state, r);
      } finally {
        faults.setFault(objectKey(pack.digest), 'none');
      }
    });

    it('the pack deadline (objectTimeoutMs) cuts a pack that keeps trickling', async () => {
      faults.setFault(objectKey(pack.digest), 'trickle');
      try {
        const state = join(t.dir, `state-${n++}`);
        const r = await fetchClosure({ stores: [openStore(faults.url)], digest, policy: { trusted: [key.public] }, stateDir: state, objectTimeoutMs: 1500 });
        expect(r.packFallbacks).toBe(1);
        await expectIdentical(state, r);
      } finally {
        faults.setFault(objectKey(pack.digest), 'none');
      }
    });
  });

  it('the pack file on disk holds exactly the index and the objects in manifest order', async () => {
    const e = packEntries();
    let at = packHeaderBytes(e.length);
    for (const x of e) {
      const own = await readFile(join(root, objectKey(x.digest)));
      expect(packBytes.subarray(at, at + x.size).equals(own)).toBe(true);
      at += x.size;
    }
    expect(at).toBe(packBytes.length);
  });
});
