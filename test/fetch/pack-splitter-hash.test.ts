// Every object a pack carries is checked against its digest however the reads cut it: an object whole in
// one read is hashed in one call, one spread over reads through a running hash (pack-splitter.ts). Each
// read size below takes one path or the other for every object, and a byte flipped in any object must be
// refused, naming it, with that object never handed on. The splitter also says which objects went to an
// O_DIRECT write (64 KiB or more, on a filesystem thread), so the committer starts no early writeback for
// them. The NewFiles port is a recorder; bytes and hashes are real.
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPackSplitter } from '../../src/fetch/pack-splitter.js';
import { openObjectCache } from '../../src/fetch/object-cache.js';
import type { NewFiles } from '../../src/fetch/new-files.js';
import { encodePackHeader, packHeaderBytes, type PackEntry } from '../../src/packages/pack-format.js';
import { digestFromHex, type Digest } from '../../src/store/digest.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

let t: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  t = await makeTempDir();
});
afterEach(async () => {
  await t.cleanup();
});

const entry = (data: Buffer): PackEntry => ({ digest: digestFromHex(createHash('sha256').update(data).digest('hex')), size: data.length });

const recorder = (shared: boolean, direct: boolean): NewFiles => ({ shared, direct, inline: false, write: () => Promise.resolve(), writeAt: () => Promise.resolve() });

interface Outcome {
  committed: Map<Digest, boolean>;
  err?: { code?: string; message: string };
}

async function split(objects: Buffer[], pack: Buffer, shared: boolean, read: number, feeds: Array<'now' | 'wait'> = [], direct = shared): Promise<Outcome> {
  const cache = await openObjectCache(t.dir);
  const entries = objects.map(entry);
  const committed = new Map<Digest, boolean>();
  const s = createPackSplitter(cache, `sha256:${'7'.repeat(64)}` as Digest, entries, new Set(entries.map((e) => e.digest)), {
    files: recorder(shared, direct),
    commit: (_tmp, digest, _size, direct) => {
      committed.set(digest, direct);
      return Promise.resolve();
    },
    onObject: () => undefined,
  });
  try {
    for (let off = 0; off < pack.length; off += read) {
      const w = s.feed(pack.subarray(off, off + read));
      feeds.push(w === undefined ? 'now' : 'wait');
      await w;
    }
    await s.end();
    return { committed };
  } catch (err) {
    await s.abort();
    return { committed, err: err as NonNullable<Outcome['err']> };
  }
}

// An empty object, small ones, one at the O_DIRECT threshold's edge and large ones written in pieces.
const SIZES = [0, 1, 5_000, 65_535, 65_536, 300_000, 700_001];
// One read for the whole pack (every object in one call), reads that cut every object, and sizes between.
const READS = [Number.MAX_SAFE_INTEGER, 1_048_576, 65_536, 4_093, 7];

describe('pack splitter: each object hashed whole or across reads', () => {
  const objects = SIZES.map((n) => randomBytes(n));
  const entries = objects.map(entry);
  const header = packHeaderBytes(objects.length);
  const pack = Buffer.concat([encodePackHeader(entries), ...objects]);

  it.each(READS)('reads of %i bytes: every object verified and handed on, O_DIRECT ones said so', async (read) => {
    // Threads writing directly, threads writing through the page cache (the default), no threads.
    for (const [shared, direct] of [[true, true], [true, false], [false, false]] as const) {
      const out = await split(objects, pack, shared, read, [], direct);
      expect(out.err).toBeUndefined();
      expect([...out.committed.keys()].sort()).toEqual(entries.map((e) => e.digest).sort());
      for (const e of entries) expect(out.committed.get(e.digest), `${e.size} bytes, shared ${shared}, direct ${direct}`).toBe(direct && e.size >= 65_536);
    }
  });

  it('a read that needs no wait for a buffer is taken at once: no promise, so the reader reads on', async () => {
    const feeds: Array<'now' | 'wait'> = [];
    const out = await split(objects, pack, true, 65_536, feeds);
    expect(out.err).toBeUndefined();
    // 18 reads, and a wait at most where a gather buffer turns over (512 KiB each) while its writes run.
    expect(feeds.length).toBe(Math.ceil(pack.length / 65_536));
    expect(feeds.filter((f) => f === 'now').length).toBeGreaterThanOrEqual(feeds.length - 3);
  });

  it.each(READS)('reads of %i bytes: a byte flipped in any object is refused, naming it, and it is not handed on', async (read) => {
    let at = header;
    for (const [k, obj] of objects.entries()) {
      const here = at;
      at += obj.length;
      if (obj.length === 0) continue;
      for (const where of [here, here + obj.length - 1]) {
        const bad = Buffer.from(pack);
        bad[where] = (bad[where] ?? 0) ^ 0x01;
        const out = await split(objects, bad, true, read);
        const d = entries[k]?.digest as Digest;
        expect(out.err?.code, `object ${k} (${obj.length} bytes), byte ${where - here}`).toBe('IntegrityError');
        expect(out.err?.message).toContain(d);
        expect(out.committed.has(d)).toBe(false);
      }
    }
  });
});
