// A manifest tampered in the first mirror, good in the second. The signature binds only (digest, size), so a
// same-size edit that still parses would pass it: only hashing the bytes against the digest stops it. The
// fetch must take the manifest from the second mirror and keep nothing of the first's: not its file names,
// not its bytes in the cache.
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchClosure } from '../../src/fetch/fetch-closure.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { objectKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';

const hexOf = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Every file name under `dir`, recursively, relative to it. */
async function namesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) out.push(join(e.parentPath, e.name).slice(dir.length + 1));
  return out.sort();
}

describe('a tampered manifest in the first mirror, a good one in the second', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let good: Store;
  let badDir: string;
  let http: HttpStoreServer;
  let lib: Digest;
  let app: Digest;
  let n = 0;
  const key = makeKeyPair('release-1');

  beforeAll(async () => {
    t = await makeTempDir();
    for (const [name, file] of [['lib', 'hello.txt'], ['app', 'world.txt']] as const) {
      await mkdir(join(t.dir, 'src', name), { recursive: true });
      await writeFile(join(t.dir, 'src', name, file), `${name} ${'x'.repeat(5000)}\n`);
    }
    const goodDir = join(t.dir, 'good');
    good = openStore(goodDir);
    lib = (await pushDirectory(good, join(t.dir, 'src', 'lib'), { name: 'lib', signKeys: [key.secret] })).digest;
    app = (await pushDirectory(good, join(t.dir, 'src', 'app'), { name: 'app', references: [lib], signKeys: [key.secret] })).digest;
    badDir = join(t.dir, 'bad');
    await cp(goodDir, badDir, { recursive: true });
    http = await startHttpStoreServer(badDir);
  });
  afterAll(async () => {
    await http.close();
    await t.cleanup();
  });

  /** Rewrites manifest `digest` in the bad mirror: the same size, still canonical JSON, another file name. */
  async function tamper(digest: Digest, from: string, to: string): Promise<Buffer> {
    const store = openStore(badDir);
    const bytes = await store.getBytes(objectKey(digest), { maxBytes: 1 << 20 });
    const evil = Buffer.from(bytes.toString('utf8').replace(from, to), 'utf8');
    expect(evil.length).toBe(bytes.length);
    expect(evil.equals(bytes)).toBe(false);
    await store.put(objectKey(digest), evil);
    return evil;
  }

  const ROWS = [
    { what: 'the root manifest', mirror: 'directory', target: () => app, from: 'world.txt', to: 'evil!.txt' },
    { what: 'the root manifest', mirror: 'http', target: () => app, from: 'world.txt', to: 'evil!.txt' },
    { what: 'a referenced manifest', mirror: 'directory', target: () => lib, from: 'hello.txt', to: 'evil!.txt' },
    { what: 'a referenced manifest', mirror: 'http', target: () => lib, from: 'hello.txt', to: 'evil!.txt' },
  ] as const;

  it.each(ROWS)('$what tampered in a $mirror mirror: fetched from the second, nothing of the first kept', async ({ mirror, target, from, to }) => {
    const digest = target();
    const original = await good.getBytes(objectKey(digest), { maxBytes: 1 << 20 });
    const evil = await tamper(digest, from, to);
    try {
      const first = mirror === 'http' ? openStore(http.url) : openStore(badDir);
      const state = join(t.dir, `state-${n++}`);
      const r = await fetchClosure({ stores: [first, good], digest: app, policy: { trusted: [key.public] }, stateDir: state });
      expect(r.packages.map((p) => p.digest)).toEqual([app, lib]);
      // The materialised trees carry the signed names only.
      const trees = await Promise.all(r.packages.map((p) => namesUnder(p.path)));
      expect(trees).toEqual([['world.txt'], ['hello.txt']]);
      expect(JSON.stringify(r)).not.toContain(to);
      // The cached manifest is the good bytes; the tampered bytes are nowhere in the state dir.
      const hex = digest.slice(7);
      const cached = await readFile(join(state, 'objects', 'sha256', hex.slice(0, 2), hex));
      expect(cached.equals(original)).toBe(true);
      const everything = await namesUnder(state);
      expect(everything.filter((p) => p.includes(to))).toEqual([]);
      const hashes = await Promise.all(
        everything.map(async (p) => {
          const full = join(state, p);
          return (await readdir(full).then(() => null, () => readFile(full).then(hexOf)));
        }),
      );
      expect(hashes).not.toContain(hexOf(evil));
      expect(await readdir(join(state, 'objects', 'tmp'))).toEqual([]);
    } finally {
      await openStore(badDir).put(objectKey(digest), original);
    }
  });

  it('with only the tampered mirror: IntegrityError naming the manifest, nothing materialised', async () => {
    await tamper(app, 'world.txt', 'evil!.txt');
    try {
      const state = join(t.dir, `state-${n++}`);
      const err = await fetchClosure({ stores: [openStore(badDir)], digest: app, policy: { trusted: [key.public] }, stateDir: state }).then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string },
      );
      expect(err?.code, err?.message).toBe('IntegrityError');
      expect(err?.message).toContain(app);
      expect(await readdir(join(state, 'store'))).toEqual([]);
    } finally {
      await openStore(badDir).put(objectKey(app), await good.getBytes(objectKey(app), { maxBytes: 1 << 20 }));
    }
  });

  it('a referenced manifest tampered in the only mirror: the root package tree, begun while it was read, is removed', async () => {
    await tamper(lib, 'hello.txt', 'evil!.txt');
    try {
      const state = join(t.dir, `state-${n++}`);
      // Into an empty state dir a package's tree is made as soon as its manifest holds (fetch-closure.ts),
      // by filesystem threads that may still be starting. lib's bytes are held back until app's tree shows
      // up in store/ (at most 5 s: a fixed wait was too short on a loaded machine), then fail their hash.
      const bad = openStore(badDir);
      let whileLibRead: string[] = [];
      const late = Object.assign(Object.create(bad) as Store, {
        async getBytes(k: string, o: { maxBytes: number; signal?: AbortSignal }): Promise<Buffer> {
          if (k === objectKey(lib)) {
            const until = Date.now() + 5000;
            do {
              await new Promise((r) => setTimeout(r, 10));
              whileLibRead = await readdir(join(state, 'store'));
            } while (whileLibRead.length === 0 && Date.now() < until);
          }
          return bad.getBytes(k, o);
        },
      });
      const err = await fetchClosure({ stores: [late], digest: app, policy: { trusted: [key.public] }, stateDir: state }).then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string },
      );
      expect(err?.code, err?.message).toBe('IntegrityError');
      expect(err?.message).toContain(lib);
      expect(whileLibRead).toEqual([expect.stringMatching(/^\.partial-.*-app$/)]);
      expect(await readdir(join(state, 'store'))).toEqual([]);
      expect(await readdir(join(state, 'objects', 'tmp'))).toEqual([]);
    } finally {
      await openStore(badDir).put(objectKey(lib), await good.getBytes(objectKey(lib), { maxBytes: 1 << 20 }));
    }
  });
});
