// The inline pack splitter (src/fetch/pack-splitter-inline.ts) writes each wanted object as its bytes
// pass: a new file per object (never over an existing name, TEMP_MODE), handed on only once its hash
// matches, large pieces through libuv's pool. However the reads cut the pack, the files must be the objects
// byte for byte; a flipped byte, a lying index, a cut body, bytes past the end or a failed write must be
// refused, naming the pack or the object, with no file of the refused object left behind, no descriptor
// closed under a write in flight and none left open. Real files on a real disk; real hashes.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openObjectCache, type ObjectCache } from '../../src/fetch/object-cache.js';
import { createInlinePackSplitter, POOL_WRITE_FROM } from '../../src/fetch/pack-splitter-inline.js';
import type { PackSplitSink } from '../../src/fetch/pack-splitter.js';
import { TEMP_MODE } from '../../src/fetch/write-temps.js';
import { encodePackHeader, packHeaderBytes, type PackEntry } from '../../src/packages/pack-format.js';
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

const PACK = `sha256:${'7'.repeat(64)}` as Digest;
const entry = (data: Buffer): PackEntry => ({ digest: digestFromHex(createHash('sha256').update(data).digest('hex')), size: data.length });

interface Outcome {
  /** Each object handed on, in order: its digest and the file it was written to. */
  committed: Array<{ digest: Digest; tmp: string; direct: boolean }>;
  objects: number;
  feeds: Array<'now' | 'wait'>;
  err?: { code?: string; message: string };
}

async function split(entries: PackEntry[], pack: Buffer, read: number, o: { wanted?: Set<Digest>; cut?: number; commit?: PackSplitSink['commit'] } = {}): Promise<Outcome> {
  const out: Outcome = { committed: [], objects: 0, feeds: [] };
  const s = createInlinePackSplitter(cache, PACK, entries, o.wanted ?? new Set(entries.map((e) => e.digest)), {
    files: { write: () => Promise.reject(new Error('not used')), writeAt: () => Promise.reject(new Error('not used')), shared: false, direct: false, inline: true },
    commit: (tmp, digest, size, direct) => {
      out.committed.push({ digest, tmp, direct });
      return o.commit?.(tmp, digest, size, direct);
    },
    onObject: () => void out.objects++,
  });
  const body = o.cut === undefined ? pack : pack.subarray(0, o.cut);
  try {
    for (let off = 0; off < body.length; off += read) {
      const wait = s.feed(body.subarray(off, off + read));
      out.feeds.push(wait === undefined ? 'now' : 'wait');
      await wait;
    }
    await s.end();
  } catch (err) {
    await s.abort();
    out.err = err as NonNullable<Outcome['err']>;
  }
  return out;
}

const leftInTmp = async (): Promise<string[]> => readdir(cache.tmpDir);

// An empty object, small ones and large ones, as a pack carries them.
const SIZES = [0, 1, 5_000, 65_536, 300_000, 700_001];
// One read for the whole pack, reads that cut every object, and sizes between.
const READS = [Number.MAX_SAFE_INTEGER, 1_048_576, 65_536, 4_093, 7];

describe('inline pack splitter: objects written as they pass, each checked before it is handed on', () => {
  const objects = SIZES.map((n) => randomBytes(n));
  const entries = objects.map(entry);
  const header = packHeaderBytes(objects.length);
  const pack = Buffer.concat([encodePackHeader(entries), ...objects]);

  it.each(READS)('reads of %i bytes: every object written byte for byte with the temp mode, waited on only for writes through the pool', async (read) => {
    const out = await split(entries, pack, read);
    expect(out.err).toBeUndefined();
    expect(out.committed.map((c) => c.digest)).toEqual(entries.map((e) => e.digest));
    expect(out.objects).toBe(entries.length);
    // A read this long holds a piece of the 300,000- or 700,001-byte object long enough for the pool.
    expect(out.feeds.includes('wait')).toBe(read >= POOL_WRITE_FROM);
    for (const [k, c] of out.committed.entries()) {
      expect((await readFile(c.tmp)).equals(objects[k] as Buffer), `object ${k}`).toBe(true);
      expect((await stat(c.tmp)).mode & 0o777).toBe(TEMP_MODE);
      expect(c.direct).toBe(false);
    }
  });

  it.each(READS)('reads of %i bytes: a byte flipped in any object is refused, naming it; its file is gone, those before it stay', async (read) => {
    let at = header;
    for (const [k, obj] of objects.entries()) {
      const here = at;
      at += obj.length;
      if (obj.length === 0) continue;
      for (const where of [here, here + obj.length - 1]) {
        const bad = Buffer.from(pack);
        bad[where] = (bad[where] ?? 0) ^ 0x01;
        const before = await leftInTmp();
        const out = await split(entries, bad, read);
        const d = entries[k]?.digest as Digest;
        expect(out.err?.code, `object ${k} (${obj.length} bytes), byte ${where - here}`).toBe('IntegrityError');
        expect(out.err?.message).toContain(d);
        expect(out.committed.map((c) => c.digest)).toEqual(entries.slice(0, k).map((e) => e.digest));
        // Only the files of the objects handed on are new.
        const fresh = (await leftInTmp()).filter((n) => !before.includes(n));
        expect(fresh.length).toBe(k);
      }
    }
  });

  it('an index other than the manifest names: refused before any file is made', async () => {
    const lying = Buffer.from(pack);
    lying[16] = (lying[16] ?? 0) ^ 0x01; // the first entry's digest in the index
    const out = await split(entries, lying, 65_536);
    expect(out.err?.code).toBe('IntegrityError');
    expect(out.err?.message).toContain('its index does not list');
    expect(await leftInTmp()).toEqual([]);
  });

  it('a body cut inside an object: the pack is refused and the object being written is removed', async () => {
    const cut = header + SIZES.slice(0, 5).reduce((a, n) => a + n, 0) + 1_000; // 1,000 bytes into the last
    const out = await split(entries, pack, 65_536, { cut });
    expect(out.err?.code).toBe('TransportError');
    expect(out.err?.message).toContain('ended early');
    expect(out.committed.length).toBe(5);
    expect((await leftInTmp()).length).toBe(5);
  });

  it('bytes past the last object are refused', async () => {
    const out = await split(entries, Buffer.concat([pack, Buffer.from('extra')]), 65_536);
    expect(out.err?.code).toBe('IntegrityError');
    expect(out.err?.message).toContain('bytes past its last object');
  });

  it('objects not wanted are skipped: no file, no hash, not handed on', async () => {
    const wanted = new Set([entries[2]?.digest, entries[5]?.digest] as Digest[]);
    const out = await split(entries, pack, 4_093, { wanted });
    expect(out.err).toBeUndefined();
    expect(out.committed.map((c) => c.digest)).toEqual([...wanted]);
    expect((await leftInTmp()).length).toBe(2);
  });

  it('a file that exists at an object\'s path is not written over: the pack fails and the file is as it was', async () => {
    const taken = cache.tempPath(entries[3]?.digest);
    await writeFile(taken, 'not mine');
    const cacheWithTaken: ObjectCache = { ...cache, tempPath: (d?: Digest) => (d === entries[3]?.digest ? taken : cache.tempPath(d)) };
    const s = createInlinePackSplitter(cacheWithTaken, PACK, entries, new Set(entries.map((e) => e.digest)), {
      files: { write: () => Promise.resolve(), writeAt: () => Promise.resolve(), shared: false, direct: false, inline: true },
      commit: () => undefined,
      onObject: () => undefined,
    });
    expect(() => s.feed(pack)).toThrow(expect.objectContaining({ code: 'EEXIST' }) as Error);
    await s.abort();
    expect(await readFile(taken, 'utf8')).toBe('not mine');
  });

  it('with `ready`, the first bytes wait for it (a promise, no file made before it settles); a failed one is the error', async () => {
    const sink = (): PackSplitSink => ({ files: { write: () => Promise.resolve(), writeAt: () => Promise.resolve(), shared: false, direct: false, inline: true }, commit: () => undefined, onObject: () => undefined });
    let open!: () => void;
    const ready = new Promise<void>((resolve) => (open = resolve));
    const s = createInlinePackSplitter(cache, PACK, entries, new Set(entries.map((e) => e.digest)), sink(), ready);
    const first = s.feed(pack.subarray(0, 100_000));
    expect(first).toBeInstanceOf(Promise);
    await new Promise((r) => setTimeout(r, 20));
    expect(await leftInTmp()).toEqual([]);
    open();
    await first;
    // Only the first waits (reads too short for the pool, which would wait for their writes).
    for (let off = 100_000; off < pack.length; off += 4_093) expect(s.feed(pack.subarray(off, off + 4_093))).toBeUndefined();
    await s.end();
    expect((await leftInTmp()).length).toBe(entries.length);

    // A reader that gave up while the first bytes waited (a deadline): they are not written once ready.
    let late!: () => void;
    const gaveUp = createInlinePackSplitter(cache, PACK, entries, new Set(entries.map((e) => e.digest)), sink(), new Promise<void>((resolve) => (late = resolve)));
    const waiting = gaveUp.feed(pack);
    await gaveUp.abort();
    late();
    await waiting;
    expect((await leftInTmp()).length).toBe(entries.length);

    const refused = createInlinePackSplitter(cache, PACK, entries, new Set(entries.map((e) => e.digest)), sink(), Promise.reject(new Error('no trees')));
    await expect(refused.feed(pack)).rejects.toThrow('no trees');
    await refused.abort();
    expect((await leftInTmp()).length).toBe(entries.length);
  });

  it('a commit that fails (a full batch that could not be flushed) fails the pack at its end', async () => {
    const out = await split(entries, pack, 65_536, { commit: () => Promise.reject(Object.assign(new Error('flush failed'), { code: 'EIO' })) });
    expect(out.err?.message).toBe('flush failed');
  });
});

/**
 * Runs `body` with fs.write and fs.closeSync wrapped where pack-splitter-inline.ts imports them (live
 * bindings of node:fs, synced with syncBuiltinESMExports). Each write through the pool starts only a few
 * turns of the loop after it was asked for, so a splitter that did not wait for it would close, hand on
 * or remove the file too early; `fail(length)` makes a write of that many bytes fail with EIO instead.
 * Each close records how many writes on its descriptor were still in flight; `closeFails(fd)` makes a close
 * throw EIO after it closed.
 */
async function watchingWrites<T>(body: (closedInFlight: number[]) => Promise<T>, fail?: (length: number) => boolean, closeFails?: (fd: number) => boolean): Promise<T> {
  const cjsFs = createRequire(import.meta.url)('node:fs') as typeof fs;
  const realWrite = cjsFs.write;
  const realClose = cjsFs.closeSync;
  const inFlight = new Map<number, number>();
  const closedInFlight: number[] = [];
  const later = (turns: number, run: () => void): void => void (turns === 0 ? run() : setImmediate(() => later(turns - 1, run)));
  cjsFs.write = ((...args: unknown[]) => {
    const fd = args[0] as number;
    const cb = args[args.length - 1] as (err: NodeJS.ErrnoException | null, n?: number) => void;
    inFlight.set(fd, (inFlight.get(fd) ?? 0) + 1);
    const done = (err: NodeJS.ErrnoException | null, n?: number): void => {
      inFlight.set(fd, (inFlight.get(fd) ?? 1) - 1);
      cb(err, n);
    };
    later(3, () => {
      if (fail?.(args[3] as number)) done(Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }));
      else (realWrite as (...a: unknown[]) => void)(...args.slice(0, -1), done);
    });
  }) as typeof fs.write;
  cjsFs.closeSync = (fd: number) => {
    closedInFlight.push(inFlight.get(fd) ?? 0);
    realClose(fd);
    // As a close that reports a write-back error (EIO): the descriptor is gone all the same.
    if (closeFails?.(fd) === true) throw Object.assign(new Error('EIO: i/o error, close'), { code: 'EIO' });
  };
  syncBuiltinESMExports();
  try {
    return await body(closedInFlight);
  } finally {
    cjsFs.write = realWrite;
    cjsFs.closeSync = realClose;
    syncBuiltinESMExports();
  }
}

const openDescriptors = (): number => fs.readdirSync('/proc/self/fd').length;

describe('inline pack splitter: large pieces written through libuv\'s pool', () => {
  // Large and small objects in turn, so that small ones end in a view behind a large one's writes.
  const objects = [300_000, 10, 200_000, 3, 0, 150_000].map((n) => randomBytes(n));
  const entries = objects.map(entry);
  const pack = Buffer.concat([encodePackHeader(entries), ...objects]);

  it.each([Number.MAX_SAFE_INTEGER, 262_144, 65_536])('reads of %i bytes: a file is closed only once its writes settled, then handed on whole, in pack order', async (read) => {
    const before = openDescriptors();
    const whole: boolean[] = [];
    const closedInFlight = await watchingWrites(async (closedInFlight) => {
      const out = await split(entries, pack, read, {
        commit: (tmp, digest) => void whole.push(fs.readFileSync(tmp).equals(objects[entries.findIndex((e) => e.digest === digest)] as Buffer)),
      });
      expect(out.err).toBeUndefined();
      expect(out.feeds).toContain('wait');
      expect(out.committed.map((c) => c.digest)).toEqual(entries.map((e) => e.digest));
      return closedInFlight;
    });
    expect(whole).toEqual(entries.map(() => true));
    expect(closedInFlight.length).toBeGreaterThanOrEqual(entries.length); // and the commit callback's own reads
    expect(closedInFlight.every((n) => n === 0), `closed with writes in flight: ${closedInFlight.join(',')}`).toBe(true);
    expect(openDescriptors()).toBe(before);
  });

  it('a write through the pool that fails fails the pack with its error: its object\'s file is removed, the others verified stay, no descriptor is left open', async () => {
    const before = openDescriptors();
    const out = await watchingWrites(() => split(entries, pack, Number.MAX_SAFE_INTEGER), (length) => length === 200_000);
    expect(out.err?.code).toBe('EIO');
    const failed = entries[2]?.digest as Digest;
    expect(out.committed.map((c) => c.digest)).toEqual(entries.map((e) => e.digest).filter((d) => d !== failed));
    expect(await leftInTmp()).not.toContain(cache.tempPath(failed).split('/').pop());
    expect((await leftInTmp()).length).toBe(entries.length - 1);
    expect(openDescriptors()).toBe(before);
  });

  it('a close that fails after writes through the pool fails the pack: that file is removed, the other entries of the view still closed and handed on', async () => {
    const before = openDescriptors();
    let failedFd = -1;
    const out = await watchingWrites(
      () => split(entries, pack, Number.MAX_SAFE_INTEGER),
      undefined,
      // The first descriptor closed after a write through the pool: the 300,000-byte object's.
      (fd) => (failedFd < 0 ? ((failedFd = fd), true) : false),
    );
    expect(out.err?.code).toBe('EIO');
    const failed = entries[0]?.digest as Digest;
    expect(out.committed.map((c) => c.digest)).toEqual(entries.map((e) => e.digest).filter((d) => d !== failed));
    expect(await leftInTmp()).not.toContain(cache.tempPath(failed).split('/').pop());
    expect(openDescriptors()).toBe(before);
  });

  it('an abort while a view\'s writes are in flight waits for them, then removes the unfinished object\'s file', async () => {
    const before = openDescriptors();
    const closedInFlight = await watchingWrites(async (closedInFlight) => {
      const s = createInlinePackSplitter(cache, PACK, entries, new Set(entries.map((e) => e.digest)), {
        files: { write: () => Promise.resolve(), writeAt: () => Promise.resolve(), shared: false, direct: false, inline: true },
        commit: () => undefined,
        onObject: () => undefined,
      });
      // Into the first object: its piece goes to the pool, and the reader gives up (a deadline) at once.
      const waiting = s.feed(pack.subarray(0, 200_000));
      expect(waiting).toBeInstanceOf(Promise);
      await s.abort();
      await waiting;
      return closedInFlight;
    });
    expect(closedInFlight).toEqual([0]);
    expect(await leftInTmp()).toEqual([]);
    expect(openDescriptors()).toBe(before);
  });
});
