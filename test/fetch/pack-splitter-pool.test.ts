// A pack done with its shared gather buffers leaves them to the next pack (pack-splitter.ts), and never
// twice: two packs streaming at once with one buffer between them would write bytes other than those they
// hashed. The NewFiles port here reads each piece late, as the filesystem thread does, so a buffer
// reused too early shows as a file whose bytes differ from the object's. Bytes and hashes are real.
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPackSplitter, type PackSplitter } from '../../src/fetch/pack-splitter.js';
import { openObjectCache, type ObjectCache } from '../../src/fetch/object-cache.js';
import type { NewFiles } from '../../src/fetch/new-files.js';
import { encodePackHeader, type PackEntry } from '../../src/packages/pack-format.js';
import { digestFromHex, type Digest } from '../../src/store/digest.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

let t: { dir: string; cleanup: () => Promise<void> };
let cache: ObjectCache;
beforeEach(async () => {
  t = await makeTempDir();
  cache = await openObjectCache(t.dir);
});
afterEach(async () => {
  await t.cleanup();
});

const entry = (data: Buffer): PackEntry => ({ digest: digestFromHex(createHash('sha256').update(data).digest('hex')), size: data.length });
const later = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Files as a thread would write them: each piece's bytes read `delayMs` after it was handed over. */
function lateReader(delayMs: number, failWrites = false): { files: NewFiles; written: Map<string, Buffer>; buffers: Set<ArrayBufferLike> } {
  const written = new Map<string, Buffer>();
  const buffers = new Set<ArrayBufferLike>();
  const put = async (path: string, data: Uint8Array, pos: number): Promise<void> => {
    buffers.add(data.buffer);
    await later(delayMs);
    if (failWrites) throw Object.assign(new Error(`${path}: no space left on device`), { code: 'ENOSPC' });
    const have = written.get(path) ?? Buffer.alloc(0);
    expect(pos).toBe(have.length);
    written.set(path, Buffer.concat([have, Buffer.from(data)]));
  };
  return {
    written,
    buffers,
    files: {
      shared: true,
      direct: true,
      inline: false,
      write: async (items) => {
        for (const s of items) await put(s.tmp, s.data, 0);
      },
      writeAt: (path, data, pos) => put(path, data, pos),
    },
  };
}

/** A splitter for `objects` and the pack's bytes; `tmps` says which file each object went to. */
function splitterFor(objects: Buffer[], files: NewFiles, name: string): { s: PackSplitter; pack: Buffer; tmps: Map<Digest, string> } {
  const entries = objects.map(entry);
  const tmps = new Map<Digest, string>();
  const s = createPackSplitter(cache, `sha256:${name}` as Digest, entries, new Set(entries.map((e) => e.digest)), {
    files,
    commit: (tmp, digest) => {
      tmps.set(digest, tmp);
      return Promise.resolve();
    },
    onObject: () => undefined,
  });
  return { s, pack: Buffer.concat([encodePackHeader(entries), ...objects]), tmps };
}

async function feedAll(s: PackSplitter, pack: Buffer, read: number): Promise<void> {
  for (let off = 0; off < pack.length; off += read) await s.feed(pack.subarray(off, off + read));
  await s.end();
}

// Gathered objects and large ones in pieces, over several gather buffers (512 KiB each).
const objectsOf = (): Buffer[] => [200_001, 3_000, 150_000, 700_001, 90_000, 240_000, 1_300_000, 17].map((n) => randomBytes(n));

describe('pack splitter: shared gather buffers kept for the next pack', () => {
  it("a pack streams through the buffers the one before it finished with", async () => {
    const first = lateReader(1);
    const a = splitterFor(objectsOf(), first.files, 'a');
    await feedAll(a.s, a.pack, 65_536);
    const second = lateReader(1);
    const b = splitterFor(objectsOf(), second.files, 'b');
    await feedAll(b.s, b.pack, 65_536);
    expect([...second.buffers].filter((x) => first.buffers.has(x)).length).toBeGreaterThan(0);
  });

  it('a pack that failed at its end, then was aborted, gives its buffers back once: packs after it write the bytes they hashed', async () => {
    // Small enough for one buffer: its writes fail unseen until end(), which gives the buffer back first.
    const failing = lateReader(1, true);
    const f = splitterFor([200_001, 3_000, 150_000].map((n) => randomBytes(n)), failing.files, 'f');
    await expect(feedAll(f.s, f.pack, 1 << 20)).rejects.toThrow(/no space left/);
    await f.s.abort(); // as fetchPack does after any failure
    // Two packs at once, their pieces read late: one buffer in both would mix their bytes.
    const runs = ['c', 'd'].map((name, k) => {
      const objects = objectsOf();
      const reader = lateReader(3 + k);
      const sp = splitterFor(objects, reader.files, name);
      return { objects, reader, sp, done: feedAll(sp.s, sp.pack, 50_000 + 7_000 * k) };
    });
    await Promise.all(runs.map((r) => r.done));
    for (const r of runs) {
      for (const o of r.objects) {
        const path = r.sp.tmps.get(entry(o).digest) ?? '';
        expect(r.reader.written.get(path)?.equals(o), `${path}: ${o.length} bytes as hashed`).toBe(true);
      }
    }
    const [c, d] = runs;
    expect([...(c?.reader.buffers ?? [])].filter((x) => d?.reader.buffers.has(x))).toEqual([]);
  });
});

describe('pack splitter: aborted while a feed waits', () => {
  it('abort returns only once the feed is done with the buffers, so the next pack is not written into', async () => {
    const slow = lateReader(40);
    const a = splitterFor(objectsOf(), slow.files, 'a');
    // The whole pack in one read: the feed fills both buffers and waits for the first one's writes.
    let fed = false;
    const waiting = a.s.feed(a.pack);
    if (waiting === undefined) throw new Error('the feed should wait for the first buffer\'s writes');
    const feed = waiting.then(
      () => (fed = true),
      () => (fed = true),
    );
    await later(5);
    await a.s.abort(); // as fetchPack does when the reader gave up (a deadline) with a feed in flight
    expect(fed).toBe(true);
    await feed;
    const objects = objectsOf();
    const fast = lateReader(1);
    const c = splitterFor(objects, fast.files, 'c');
    await feedAll(c.s, c.pack, 65_536);
    await later(100); // anything the aborted feed still did would have happened by now
    for (const o of objects) expect(fast.written.get(c.tmps.get(entry(o).digest) ?? '')?.equals(o)).toBe(true);
  });
});
