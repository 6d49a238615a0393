import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors/index.js';
import { listAll, type Store } from '../../src/store/store.js';
import { generateStream, hashStream, peakRssGrowth } from './big-stream.js';

/**
 * One backend under test. `store` is what the suite reads through; `writer` is what it writes through
 * (the same store, or — for the read-only HTTP backend — a directory store on the root the server serves).
 */
export interface ContractBackend {
  store: Store;
  writer: Store;
  cleanup(): Promise<void>;
}

/** Builds the backend once per suite. */
export type BackendFactory = () => Promise<ContractBackend>;

const MB = 1 << 20;
const BIG = 200 * MB;
const LIST_COUNT = 2500;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

async function keysUnder(store: Store, prefix: string, pageSize: number): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of listAll(store, prefix, pageSize)) keys.push(o.key);
  return keys;
}

/**
 * The store contract, run unchanged on every backend. Behaviour a backend cannot have (listing or
 * conditional writes over HTTP) is asserted as a clear UnsupportedOperationError instead.
 */
export function runStoreContract(name: string, factory: BackendFactory): void {
  describe(`store contract: ${name}`, () => {
    let b: ContractBackend;
    let s: Store;
    let w: Store;
    const run = randomBytes(4).toString('hex');
    const k = (key: string): string => `contract-${run}/${key}`;

    beforeAll(async () => {
      b = await factory();
      s = b.store;
      w = b.writer;
    });
    afterAll(async () => {
      await b?.cleanup();
    });

    it('puts bytes and a stream, then gets and heads them back with a stable etag', async () => {
      const bytes = randomBytes(10_000);
      const { etag } = await w.put(k('a/bytes'), bytes);
      expect(etag).not.toBe('');
      expect(await s.getBytes(k('a/bytes'), { maxBytes: 10_000 })).toEqual(bytes);
      const info = await s.head(k('a/bytes'));
      expect(info).toMatchObject({ key: k('a/bytes'), size: 10_000, etag });
      const streamed = await w.put(k('a/stream'), Readable.from([bytes.subarray(0, 3000), bytes.subarray(3000)]));
      expect((await s.head(k('a/stream'))).etag).toBe(streamed.etag);
      expect((await hashStream(await s.get(k('a/stream')))).size).toBe(10_000);
      await w.put(k('a/empty'), Buffer.alloc(0));
      expect((await s.getBytes(k('a/empty'), { maxBytes: 0 })).length).toBe(0);
    });

    it('overwrites unconditionally and changes the etag', async () => {
      const first = await w.put(k('over'), Buffer.from('one'));
      const second = await w.put(k('over'), Buffer.from('two'));
      expect(second.etag).not.toBe(first.etag);
      expect((await s.getBytes(k('over'), { maxBytes: 10 })).toString()).toBe('two');
      expect((await s.head(k('over'))).etag).toBe(second.etag);
    });

    it('reports a missing key as not found on get, getBytes and head, and only then', async () => {
      const reads = [() => s.get(k('missing')), () => s.getBytes(k('missing'), { maxBytes: 10 }), () => s.head(k('missing'))];
      for (const read of reads) {
        const err = await read().then(() => undefined, (e: unknown) => e);
        expect(hasCode(err, 'NotFoundError')).toBe(true);
        expect(s.isNotFound(err)).toBe(true);
      }
      expect(s.isNotFound(new Error('ENOENT'))).toBe(false);
      expect(s.isNotFound(await s.getBytes(k('a/bytes'), { maxBytes: 1 }).catch((e: unknown) => e))).toBe(false);
    });

    it('refuses keys that are not plain relative paths', async () => {
      for (const bad of ['../x', 'a//b', '/abs', 'a/./b', 'a/.tmp-x', '']) {
        expect(await codeOf(s.head(bad))).toBe('InvalidNameError');
        expect(await codeOf(w.put(bad, Buffer.from('x')))).toBe('InvalidNameError');
      }
    });

    it('deletes, idempotently', async () => {
      await w.put(k('del'), Buffer.from('x'));
      await w.delete(k('del'));
      expect(await codeOf(s.head(k('del')))).toBe('NotFoundError');
      await w.delete(k('del'));
      await w.delete(k('never/existed'));
    });

    it('caps reads at maxBytes with SizeLimitError', async () => {
      await w.put(k('cap'), randomBytes(10_000));
      expect((await s.getBytes(k('cap'), { maxBytes: 10_000 })).length).toBe(10_000);
      expect(await codeOf(s.getBytes(k('cap'), { maxBytes: 9_999 }))).toBe('SizeLimitError');
      expect(await codeOf(s.get(k('cap'), { maxBytes: 100 }).then(hashStream))).toBe('SizeLimitError');
    });

    it(`lists ${LIST_COUNT} keys in lexicographic pages, by prefix, with a cursor only before the last page`, async () => {
      const p = k('list/');
      const want: string[] = [];
      for (let i = 0; i < LIST_COUNT; i++) want.push(`${p}${String(i).padStart(5, '0')}`);
      const decoys = [k('list-x'), k('lis'), k('listx/y'), k('list/sub/below')];
      const todo = [...want, ...decoys];
      const workers = Array.from({ length: 16 }, async () => {
        for (let key = todo.pop(); key !== undefined; key = todo.pop()) await w.put(key, Buffer.from(key));
      });
      await Promise.all(workers);
      const expected = [...want, k('list/sub/below')].sort();
      if (!s.capabilities.list) {
        expect(await codeOf(s.list(p))).toBe('UnsupportedOperationError');
        return;
      }
      const first = await s.list(p, { limit: 1000 });
      expect(first.items.map((i) => i.key)).toEqual(expected.slice(0, 1000));
      expect(first.cursor).toBeDefined();
      const second = await s.list(p, { limit: 1000, cursor: first.cursor as string });
      expect(second.items.map((i) => i.key)).toEqual(expected.slice(1000, 2000));
      const third = await s.list(p, { limit: 1000, cursor: second.cursor as string });
      expect(third.items.map((i) => i.key)).toEqual(expected.slice(2000));
      expect(third.cursor).toBeUndefined();
      expect(third.items[0]).toMatchObject({ size: expected[2000]?.length });
      expect(await keysUnder(s, p, 7)).toEqual(expected);
      expect(await keysUnder(s, `${p}0001`, 3)).toEqual(expected.filter((x) => x.startsWith(`${p}0001`)));
      expect(await keysUnder(s, k('lis'), 1000)).toEqual([k('lis'), k('list-x'), ...expected, k('listx/y')]);
      expect((await s.list(k('nothing-here/'))).items).toEqual([]);
    });

    it('streams a 200 MB object in and out with bounded memory', async () => {
      // Warm the same path first (SDK modules, sockets, V8 heap sizing): one-time costs are not per-byte.
      const warm = generateStream(24 * MB);
      await w.put(k('warm'), warm.stream);
      expect((await hashStream(await s.get(k('warm')))).sha256).toBe(await warm.sha256);
      const gen = generateStream(BIG);
      let back = { size: 0, sha256: '' };
      const growth = await peakRssGrowth(async () => {
        await w.put(k('big'), gen.stream, { contentLength: BIG });
        back = await hashStream(await s.get(k('big')));
      });
      expect(back).toEqual({ size: BIG, sha256: await gen.sha256 });
      expect(growth).toBeLessThan(100 * MB);
      await w.delete(k('big'));
    }, 300_000);

    it('lets exactly one of 20 concurrent create-if-absent writers win', async () => {
      const tries = Array.from({ length: 20 }, (_, i) => s.put(k('race'), Buffer.from(`writer ${i}`), { ifNoneMatch: '*' }));
      const results = await Promise.allSettled(tries);
      if (s.capabilities.conditionalWrites === 'none') {
        for (const r of results) expect(r.status === 'rejected' && hasCode(r.reason, 'UnsupportedOperationError')).toBe(true);
        return;
      }
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(hasCode(r.reason, 'PreconditionFailedError')).toBe(true);
      expect((await s.getBytes(k('race'), { maxBytes: 100 })).toString()).toBe(`writer ${winners[0]}`);
    });

    it('refuses a compare-and-swap with a stale etag and a conditional delete with a wrong one', async () => {
      if (s.capabilities.conditionalWrites === 'none') {
        expect(await codeOf(s.put(k('cas'), Buffer.from('x'), { ifMatch: 'abc' }))).toBe('UnsupportedOperationError');
        expect(await codeOf(s.delete(k('cas'), { ifMatch: 'abc' }))).toBe('UnsupportedOperationError');
        return;
      }
      const v1 = await s.put(k('cas'), Buffer.from('v1'));
      const v2 = await s.put(k('cas'), Buffer.from('v2'), { ifMatch: v1.etag });
      expect(await codeOf(s.put(k('cas'), Buffer.from('v3'), { ifMatch: v1.etag }))).toBe('PreconditionFailedError');
      expect((await s.getBytes(k('cas'), { maxBytes: 10 })).toString()).toBe('v2');
      expect(await codeOf(s.put(k('cas-missing'), Buffer.from('x'), { ifMatch: v1.etag }))).toBe('PreconditionFailedError');
      expect(await codeOf(s.delete(k('cas'), { ifMatch: v1.etag }))).toBe('PreconditionFailedError');
      expect((await s.head(k('cas'))).etag).toBe(v2.etag);
      await s.delete(k('cas'), { ifMatch: `"${v2.etag}"` });
      expect(await codeOf(s.head(k('cas')))).toBe('NotFoundError');
    });
  });
}
