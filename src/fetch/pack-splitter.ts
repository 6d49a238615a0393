import { createHash, type Hash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { IntegrityError, TransportError } from '../errors/index.js';
import { packHeaderBytes, packHeaderMatches, type PackEntry } from '../packages/pack-format.js';
import { digestFromHex, type Digest } from '../store/digest.js';
import { alignToBlock, DIRECT_BLOCK, DIRECT_FROM } from './fs-ops.js';
import type { NewFiles } from './new-files.js';
import type { ObjectCache } from './object-cache.js';
import { pageAlignedBuffer } from '../util/page-aligned.js';

/** What a pack's wanted objects become: verified files handed on, one by one. */
export interface PackSplitSink {
  /** Receives each verified file (flush and rename are its business). */
  commit: (tmp: string, digest: Digest, size: number) => Promise<void>;
  /** Called once per object committed, with its size. */
  onObject: (digest: Digest, size: number) => void;
  /** Creates the objects' files (new-files.ts); shared memory for the gather buffers when it says so. */
  files: NewFiles;
}

/** Splits one pack's bytes, fed in order, into verified object files. */
export interface PackSplitter {
  /** Takes the pack's next bytes; `view` is not used once the promise settles (it may be a reused buffer). */
  feed(view: Buffer): Promise<void>;
  /** After the last byte: checks that every entry arrived, writes what is gathered, waits for every write. */
  end(): Promise<void>;
  /** After a failure: waits for the writes in flight and removes the file of the entry being written. */
  abort(): Promise<void>;
}

// Each pack copies the bytes it keeps into two buffers it holds until it ends, one filling while the
// other's writes run, so what it is fed may be a buffer the reader reuses for its next read, and a pack
// holds the same 1 MiB however big it is. Objects up to SMALL_OBJECT are gathered whole and written as
// files when their buffer is full; larger ones are written to their file every WRITE_CHUNK.
const GATHER_BYTES = 512 * 1024;
const SMALL_OBJECT = 256 * 1024;
const WRITE_CHUNK = 256 * 1024;
// Shared gather buffers start on a page boundary (util/page-aligned.ts): an object the
// filesystem thread writes with O_DIRECT (64 KiB or more, fs-ops.ts) is placed at a 4 KiB boundary of the
// buffer, and a large one written in pieces that end on one, so its blocks go to the disk from here,
// without a copy into the thread's own aligned memory (V8 copies out of shared memory a word at a time).
// A pack done with its shared gather buffers leaves them to the next one: a fresh buffer costs the first
// touch of each of its pages (a fault that, on a VM with free page reporting, goes to the host) and an
// unmap once collected. Enough for the packs that stream at once (place-objects.ts), two buffers each.
const POOL_MAX = 8;
const sharedPool: Buffer[] = [];

interface Gather {
  buf: Buffer;
  used: number;
  /** The writes that read from `buf`: it is reused only once they settled. */
  busy: Array<Promise<unknown>>;
}

interface Small {
  tmp: string;
  digest: Digest;
  size: number;
  data: Buffer;
}

/** A large object being written, piece by piece, each piece once the one before it is done. */
interface Large {
  entry: PackEntry;
  tmp: string;
  pos: number;
  written: Promise<void>;
}

/**
 * A splitter for `entries` (the index the signed manifest says the pack carries): the index bytes must
 * equal it exactly (IntegrityError before anything is written); each `wanted` entry is hashed as it passes
 * and handed to `sink.commit` only once its hash matches; entries not wanted are skipped unhashed. `pack`
 * names the pack in errors.
 */
export function createPackSplitter(cache: ObjectCache, pack: Digest, entries: readonly PackEntry[], wanted: ReadonlySet<Digest>, sink: PackSplitSink): PackSplitter {
  const headerSize = packHeaderBytes(entries.length);
  const header: Buffer[] = [];
  let headerGot = 0;
  let i = -1; // entry being read; -1 while in the index
  let left = 0;
  let hash: Hash | undefined;
  const { files } = sink;
  const gatherBuffer = (): Buffer => (files.shared ? (sharedPool.pop() ?? pageAlignedBuffer(GATHER_BYTES, true)) : Buffer.allocUnsafeSlow(GATHER_BYTES));
  let cur: Gather = { buf: gatherBuffer(), used: 0, busy: [] };
  let spare: Gather | undefined;
  // The current entry's bytes in `cur` not yet written start here.
  let from = 0;
  let large: Large | undefined;
  let small: Small[] = [];
  let failure: { err: unknown } | undefined;
  // Everything started (writes, then commits): end() and abort() wait for all of it.
  const pending: Array<Promise<unknown>> = [];
  const settle = (p: Promise<unknown>): Promise<unknown> => p.catch((err: unknown) => void (failure ??= { err }));
  /** `reads` reads from `g`'s buffer; `then` (default `reads`) is all of the work, commits included. */
  const track = (g: Gather, reads: Promise<unknown>, then: Promise<unknown> = reads): void => {
    g.busy.push(settle(reads));
    pending.push(settle(then));
  };
  const check = (): void => {
    if (failure !== undefined) throw failure.err;
  };
  // Only once every write that read from them settled (`pending` holds them all), and only once: a buffer
  // in the pool twice would be two packs' at once, and bytes hashed here could differ from those written.
  let released = false;
  let feeding: Promise<void> | undefined;
  const release = (): void => {
    if (!files.shared || released) return;
    released = true;
    for (const g of [cur, spare]) if (g !== undefined && sharedPool.length < POOL_MAX) sharedPool.push(g.buf);
  };

  const commitSmall = async (batch: Small[]): Promise<void> => {
    for (const s of batch) {
      await sink.commit(s.tmp, s.digest, s.size);
      sink.onObject(s.digest, s.size);
    }
  };
  // Starts the writes of what `cur` holds: the small objects gathered, the large one's bytes so far (with
  // `last`, its final piece, written even when empty: it gives the file its mode).
  const issue = (last = false): void => {
    if (small.length > 0) {
      const batch = small;
      const written = files.write(batch);
      track(cur, written, written.then(() => commitSmall(batch)));
      small = [];
    }
    if (large !== undefined && (cur.used > from || last)) {
      const l = large;
      // Up to a block boundary, but for the last piece and a full buffer (both end where they end).
      const to = last || !files.shared || cur.used === GATHER_BYTES ? cur.used : from + Math.floor((cur.used - from) / DIRECT_BLOCK) * DIRECT_BLOCK;
      const data = cur.buf.subarray(from, to);
      const at = l.pos;
      l.pos += data.length;
      l.written = l.written.then(() => files.writeAt(l.tmp, data, at, last));
      track(cur, l.written);
      from = to;
    }
  };
  // Writes out `cur` and continues in the other buffer once its own writes are done.
  const rotate = async (): Promise<void> => {
    issue();
    const next = spare ?? { buf: gatherBuffer(), used: 0, busy: [] };
    await Promise.all(next.busy);
    check();
    next.used = 0;
    next.busy = [];
    spare = cur;
    cur = next;
    from = 0;
  };
  const startEntry = async (): Promise<void> => {
    const e = entries[i];
    if (e === undefined) return;
    left = e.size;
    hash = wanted.has(e.digest) ? createHash('sha256') : undefined;
    if (hash === undefined) return;
    const pad = files.shared && e.size >= DIRECT_FROM ? alignToBlock(cur.used) - cur.used : 0;
    // A small object is gathered in one buffer, whole.
    if (e.size <= SMALL_OBJECT && pad + e.size > GATHER_BYTES - cur.used) await rotate();
    else cur.used += pad;
    from = cur.used;
    if (e.size > SMALL_OBJECT) large = { entry: e, tmp: cache.tempPath(e.digest), pos: 0, written: Promise.resolve() };
  };
  const finishEntry = (): void => {
    const e = entries[i] as PackEntry;
    const h = hash;
    hash = undefined;
    if (h === undefined) return;
    const actual = digestFromHex(h.digest('hex'));
    if (actual !== e.digest) {
      throw new IntegrityError(`pack ${pack}: its bytes for object ${e.digest} hash to ${actual}`, { object: e.digest, pack, actual });
    }
    if (large === undefined) {
      small.push({ tmp: cache.tempPath(e.digest), digest: e.digest, size: e.size, data: cur.buf.subarray(from, cur.used) });
      from = cur.used;
      return;
    }
    issue(true);
    const l = large;
    large = undefined;
    pending.push(settle(finishLarge(l)));
  };
  // Hands a large object on once its pieces are written; a failed piece leaves no file behind.
  const finishLarge = async (l: Large): Promise<void> => {
    try {
      await l.written;
    } catch (err) {
      await rm(l.tmp, { force: true });
      throw err;
    }
    await sink.commit(l.tmp, l.entry.digest, l.entry.size);
    sink.onObject(l.entry.digest, l.entry.size);
  };
  // Moves past the index or a finished entry, and past any empty entries after it.
  const advance = async (): Promise<void> => {
    for (;;) {
      i++;
      await startEntry();
      if (i >= entries.length || left > 0) return;
      finishEntry();
    }
  };

  const feedNow = async (view: Buffer): Promise<void> => {
    check();
    let off = 0;
    while (off < view.length) {
      if (i < 0) {
        const take = Math.min(headerSize - headerGot, view.length - off);
        header.push(Buffer.from(view.subarray(off, off + take)));
        headerGot += take;
        off += take;
        if (headerGot < headerSize) continue;
        if (!packHeaderMatches(Buffer.concat(header), entries)) {
          throw new IntegrityError(`pack ${pack}: its index does not list the objects the manifest names for it`, { pack });
        }
        await advance();
        continue;
      }
      if (i >= entries.length) throw new IntegrityError(`pack ${pack}: bytes past its last object`, { pack });
      const take = Math.min(left, view.length - off);
      if (hash !== undefined) {
        const piece = view.subarray(off, off + take);
        hash.update(piece);
        for (let p = 0; p < take; ) {
          if (cur.used === GATHER_BYTES) await rotate();
          const n = Math.min(take - p, GATHER_BYTES - cur.used);
          // fill, not copy: into shared memory V8 copies a word at a time with relaxed atomics (4.7 % of a
          // cold fetch's perf samples); Buffer#fill from a view of the same length is one memcpy in C++.
          cur.buf.subarray(cur.used, cur.used + n).fill(piece.subarray(p, p + n));
          cur.used += n;
          p += n;
          if (large !== undefined && cur.used - from >= WRITE_CHUNK) issue();
        }
      }
      left -= take;
      off += take;
      if (left === 0) {
        finishEntry();
        await advance();
      }
    }
  };

  return {
    feed(view) {
      feeding = feedNow(view);
      return feeding;
    },
    async end() {
      check();
      if (i < entries.length) throw new TransportError(`pack ${pack}: the body ended early`, { pack });
      issue();
      await Promise.all(pending);
      release();
      check();
    },
    async abort() {
      // A reader that gave up (a deadline, an abort) may leave a feed running: it must be done with the
      // buffers before they go back to the pool.
      await feeding?.catch(() => undefined);
      await Promise.all(pending);
      release();
      const l = large;
      large = undefined;
      if (l === undefined) return;
      await l.written.catch(() => undefined);
      await rm(l.tmp, { force: true });
    },
  };
}
