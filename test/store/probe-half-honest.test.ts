// The precondition probe against stores that honour only part of the contract. Each row wraps a real
// directory store behind the Store interface (a port we own) and breaks one promise: the probe must say no,
// for the reason of that broken promise, and leave no probe key behind.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PreconditionFailedError } from '../../src/errors/index.js';
import { openStore } from '../../src/store/open-store.js';
import { probeConditionalWrites } from '../../src/store/probe.js';
import type { PutOptions, Store } from '../../src/store/store.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function directoryStore(): Promise<Store> {
  const d = await mkdtemp(join(tmpdir(), 'flotilla-probe-half-'));
  dirs.push(d);
  return openStore(d);
}

type Put = Store['put'];

/** The store with its `put` replaced; everything else is the real directory store. */
function withPut(store: Store, put: (real: Put, key: string, body: Parameters<Put>[1], o: PutOptions) => ReturnType<Put>): Store {
  return { ...store, put: (key, body, o = {}) => put(store.put.bind(store), key, body, o) };
}

const ROWS: Array<{ name: string; wrap: (s: Store) => Store; reason: RegExp }> = [
  {
    // S3-compatible servers that added If-None-Match for create-if-absent before If-Match for writes.
    name: 'honours If-None-Match, ignores If-Match (writes anyway)',
    wrap: (s) => withPut(s, (real, key, body, { ifMatch: _ignored, ...rest }) => real(key, body, rest)),
    reason: /accepted a compare-and-swap with a wrong etag/,
  },
  {
    name: 'honours If-None-Match, ignores If-Match (answers success, writes nothing)',
    wrap: (s) => withPut(s, async (real, key, body, o) => (o.ifMatch !== undefined ? { etag: o.ifMatch } : real(key, body, o))),
    reason: /accepted a compare-and-swap with a wrong etag/,
  },
  {
    name: 'answers a wrong etag with a precondition failure, but writes the bytes anyway',
    wrap: (s) =>
      withPut(s, async (real, key, body, o) => {
        if (o.ifMatch === undefined) return real(key, body, o);
        const { etag } = await s.head(key);
        const { ifMatch: _ignored, ...rest } = o;
        await real(key, body, rest);
        if (etag !== o.ifMatch) throw new PreconditionFailedError(`${key}: etag mismatch`, { key });
        return s.head(key);
      }),
    reason: /changed probe\/[0-9a-f]+ despite a failed precondition/,
  },
  {
    name: 'refuses a wrong etag but keeps answering the same etag after a write (a stale etag passes)',
    wrap: (s) => {
      const first = new Map<string, string>();
      return withPut(s, async (real, key, body, o) => {
        const known = first.get(key);
        if (o.ifMatch !== undefined && o.ifMatch === known) {
          const { ifMatch: _ignored, ...rest } = o;
          await real(key, body, rest);
          return { etag: known };
        }
        const r = await real(key, body, o);
        if (!first.has(key)) first.set(key, r.etag);
        return r;
      });
    },
    reason: /accepted a compare-and-swap with a stale etag/,
  },
  {
    name: 'ignores If-None-Match (a second create-if-absent overwrites)',
    wrap: (s) => withPut(s, (real, key, body, { ifNoneMatch: _ignored, ...rest }) => real(key, body, rest)),
    reason: /accepted a second create-if-absent/,
  },
];

describe('probeConditionalWrites on half-honest stores', () => {
  it('control: the unwrapped directory store passes', async () => {
    expect(await probeConditionalWrites(await directoryStore())).toEqual({ ok: true });
  });

  it.each(ROWS)('$name → not ok, saying so; no probe key left', async ({ wrap, reason }) => {
    const real = await directoryStore();
    const r = await probeConditionalWrites(wrap(real));
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(reason);
    expect((await real.list('probe/')).items).toEqual([]);
  });
});
