import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchClosure } from '../../src/fetch/fetch-closure.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { objectKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';
import { sha } from '../helpers/craft-manifest.js';

describe('tampered, oversized and missing objects', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let bad: Store;
  let good: Store;
  let digest: Digest;
  let victim: Digest;
  const original = Buffer.alloc(300_000, 7);
  const key = makeKeyPair('pub-1');
  let n = 0;
  beforeAll(async () => {
    t = await makeTempDir();
    const src = join(t.dir, 'src');
    await mkdir(src);
    original.write('start', 0);
    original.write('end', original.length - 3);
    await writeFile(join(src, 'victim.bin'), original);
    await writeFile(join(src, 'other.bin'), Buffer.alloc(50_000, 1));
    bad = openStore(join(t.dir, 'bad'));
    good = openStore(join(t.dir, 'good'));
    digest = (await pushDirectory(bad, src, { name: 'app', signKeys: [key.secret] })).digest;
    await pushDirectory(good, src, { name: 'app', signKeys: [key.secret] });
    victim = sha(original);
  });
  afterAll(async () => t.cleanup());

  // `packs: false` exercises the per-object path from a network-like store (packs are tested in packs.test.ts).
  async function fetchInto(stores: Store[], fsThreads?: number): Promise<{ state: string; err?: { code: string; message: string; data: Record<string, unknown> } }> {
    const state = join(t.dir, `state-${n++}`);
    try {
      await fetchClosure({ stores, digest, policy: { trusted: [key.public] }, stateDir: state, packs: false, ...(fsThreads === undefined ? {} : { fsThreads }) });
      return { state };
    } catch (err) {
      return { state, err: err as { code: string; message: string; data: Record<string, unknown> } };
    }
  }

  const POSITIONS = [
    { where: 'first byte', at: 0 },
    { where: 'a middle byte', at: 150_000 },
    { where: 'the last byte', at: 299_999 },
  ];

  it.each(POSITIONS)('flipping $where → IntegrityError naming the object; nothing kept; the next store serves it', async ({ at }) => {
    const flipped = Buffer.from(original);
    flipped[at] = (flipped[at] ?? 0) ^ 0xff;
    await bad.put(objectKey(victim), flipped);
    const r = await fetchInto([bad]);
    expect(r.err?.code).toBe('IntegrityError');
    expect(r.err?.message).toContain(victim);
    expect(await readdir(join(r.state, 'store'))).toEqual([]);
    const cached = await readdir(join(r.state, 'objects', 'sha256', victim.slice(7, 9))).catch(() => []);
    expect(cached).not.toContain(victim.slice(7));
    expect(await readdir(join(r.state, 'objects', 'tmp'))).toEqual([]);
    const ok = await fetchInto([bad, good]);
    expect(ok.err).toBeUndefined();
    await bad.put(objectKey(victim), original);
  });

  it.each(POSITIONS)('copied and hashed on worker threads, flipping $where is refused the same way', async ({ at }) => {
    const flipped = Buffer.from(original);
    flipped[at] = (flipped[at] ?? 0) ^ 0xff;
    await bad.put(objectKey(victim), flipped);
    const r = await fetchInto([bad], 2);
    expect(r.err?.code).toBe('IntegrityError');
    expect(r.err?.message).toContain(victim);
    expect(await readdir(join(r.state, 'store'))).toEqual([]);
    expect(await readdir(join(r.state, 'objects', 'tmp'))).toEqual([]);
    expect((await fetchInto([bad, good], 2)).err).toBeUndefined();
    await bad.put(objectKey(victim), original);
  });

  it.each(POSITIONS)('streaming from a store without an in-kernel copy, flipping $where is refused the same way', async ({ at }) => {
    const flipped = Buffer.from(original);
    flipped[at] = (flipped[at] ?? 0) ^ 0xff;
    await bad.put(objectKey(victim), flipped);
    const streaming: Store = { ...bad };
    delete streaming.localPath;
    expect(typeof bad.localPath).toBe('function'); // the directory store has the fast path; this store object does not
    const r = await fetchInto([streaming]);
    expect(r.err?.code).toBe('IntegrityError');
    expect(r.err?.message).toContain(victim);
    expect(await readdir(join(r.state, 'objects', 'tmp'))).toEqual([]);
    await bad.put(objectKey(victim), original);
  });

  it('an endless (oversized) body is cut at the signed size and refused', async () => {
    await bad.put(objectKey(victim), Buffer.concat([original, Buffer.alloc(1_000_000)]));
    const r = await fetchInto([bad]);
    expect(r.err?.code).toBe('IntegrityError');
    expect(r.err?.message).toContain(victim);
    expect(await readdir(join(r.state, 'store'))).toEqual([]);
    await bad.put(objectKey(victim), original);
  });

  it('a truncated object is refused', async () => {
    await bad.put(objectKey(victim), original.subarray(0, 1000));
    const r = await fetchInto([bad]);
    expect(r.err?.code).toBe('IntegrityError');
    await bad.put(objectKey(victim), original);
  });

  it('a missing object → NotFoundError naming it and each store; a later retry succeeds', async () => {
    await bad.delete(objectKey(victim));
    await good.delete(objectKey(victim));
    const r = await fetchInto([bad, good]);
    expect(r.err?.code).toBe('NotFoundError');
    expect(r.err?.message).toContain(victim);
    expect(r.err?.message).toContain(bad.url);
    expect(r.err?.message).toContain(good.url);
    expect(r.err?.data['stores']).toHaveLength(2);
    expect(await readdir(join(r.state, 'store'))).toEqual([]);
    await good.put(objectKey(victim), original);
    const state = r.state;
    const again = await fetchClosure({ stores: [bad, good], digest, policy: { trusted: [key.public] }, stateDir: state });
    expect(again.packages).toHaveLength(1);
    expect(again.objectsFetched).toBe(1);
    await bad.put(objectKey(victim), original);
  });

  it('a corrupt copy in one store and a missing one in the other → one error listing both reasons', async () => {
    const flipped = Buffer.from(original);
    flipped[5] = 0;
    await bad.put(objectKey(victim), flipped);
    await good.delete(objectKey(victim));
    const r = await fetchInto([bad, good]);
    expect(r.err?.code).toBe('IntegrityError');
    expect(r.err?.message).toMatch(/IntegrityError.*NotFoundError/s);
    await bad.put(objectKey(victim), original);
    await good.put(objectKey(victim), original);
  });
});
