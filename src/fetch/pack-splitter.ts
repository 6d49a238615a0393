import { rm } from 'node:fs/promises';
import { IntegrityError, TransportError } from '../errors/index.js';
import type { PackEntry } from '../packages/pack-format.js';
import type { Digest } from '../store/digest.js';
import { alignToBlock, DIRECT_BLOCK, DIRECT_FROM } from './fs-ops.js';
import type { NewFiles } from './new-files.js';
import type { ObjectCache } from './object-cache.js';
import { EntryHasher, PackIndexReader } from './pack-stream-check.js';
import { pageAlignedBuffer } from '../util/page-aligned.js';

/** What a pack's wanted objects become: verified files handed on, one by one. */
export interface PackSplitSink {
  /**
   * Receives each verified file (flush and rename are its business); `direct` when its bytes went to a
   * filesystem thread's O_DIRECT write (the page cache holds none of them, where the filesystem allows it).
   * Undefined when done at once.
   */
  commit: (tmp: string, digest: Digest, size: number, direct: boolean) => Promise<void> | undefined;
  /** Called once per object committed, with its size. */
  onObject: (digest: Digest, size: number) => void;
  /** Creates the objects' files (new-files.ts); shared memory for the gather buffers when it says so. */
  files: NewFiles;
}

/** Splits one pack's bytes, fed in order, into verified object files. */
export interface PackSplitter {
  /**
   * Takes the pack's next bytes: undefined when done with `view` already, else a promise, after which
   * `view` is not used (it may be a reused buffer). Most reads need no wait: the reader then goes on
   * reading, with no promise, pause or resume per read.
   */
  feed(view: Buffer): Promise<void> | undefined;
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
// Shared gather buffers start on a page boundary (util/page-aligned.ts): where the filesystem thread
// writes with O_DIRECT (64 KiB or more, fs-ops.ts; off by default, util/direct-writes.ts), an object it
// writes so is placed at a 4 KiB boundary of the buffer, and a large one written in pieces that end on
// one, so its blocks go to the disk from here, without a copy into the thread's own aligned memory (V8
// copies out of shared memory a word at a time).
// A pack done with its shared gather buffers leaves them to the next one: a fresh buffer costs the first
// touch of each of its pages (a fault that, on a VM with free page reporting, goes to the host) and an
// unmap once collected. Enough for the packs that stream at once (place-objects.ts), two buffers each.
const POOL_MAX = 8;
const sharedPool: Buffer[] = [];

interface Gather {
  buf: Buffer;
  used: number;
  /** The writes that read from `buf`: it is reused only once they settled; `open` of them have not. */
  busy: Array<Promise<unknown>>;
  open: number;
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
  return new PackSplit(cache, pack, entries, wanted, sink);
}

// A class, not closures made per pack: its methods are one function each for the whole process, so V8
// optimises the byte loop for all packs at once. As a closure per pack, with the index read inside the
// loop, it was optimised twice in every cold fetch (`--trace-opt`, `--trace-deopt`: 43-50 ms of the
// optimising compiler's CPU); now once (11 ms), now and then twice after a later deopt.
class PackSplit implements PackSplitter {
  private readonly index: PackIndexReader;
  private i = -1; // entry being read; -1 while in the index
  private left = 0;
  // The entry being read is wanted (hashed, kept).
  private want = false;
  private readonly hasher = new EntryHasher();
  private cur: Gather;
  private spare: Gather | undefined;
  // The current entry's bytes in `cur` not yet written start here.
  private from = 0;
  private large: Large | undefined;
  private small: Small[] = [];
  private failure: { err: unknown } | undefined;
  // Everything started (writes, then commits): end() and abort() wait for all of it.
  private readonly pending: Array<Promise<unknown>> = [];
  // Only once every write that read from them settled (`pending` holds them all), and only once: a buffer
  // in the pool twice would be two packs' at once, and bytes hashed here could differ from those written.
  private released = false;
  private feeding: Promise<void> | undefined;

  constructor(
    private readonly cache: ObjectCache,
    private readonly pack: Digest,
    private readonly entries: readonly PackEntry[],
    private readonly wanted: ReadonlySet<Digest>,
    private readonly sink: PackSplitSink,
  ) {
    this.index = new PackIndexReader(pack, entries);
    this.cur = { buf: this.gatherBuffer(), used: 0, busy: [], open: 0 };
  }

  feed(view: Buffer): Promise<void> | undefined {
    this.feeding = undefined;
    this.check();
    let off = 0;
    // The index is read here, outside the byte loop (pump): inside it, that branch, taken once per pack,
    // made V8 throw away the loop's optimised code at the second pack.
    if (this.i < 0) {
      off = this.index.take(view);
      if (!this.index.done) return undefined;
      const w = this.advance();
      if (w !== undefined) return (this.feeding = this.resume(w, view, off));
    }
    const w = this.pump(view, off);
    if (w !== undefined) this.feeding = w;
    return w;
  }

  async end(): Promise<void> {
    this.check();
    if (this.i < this.entries.length) throw new TransportError(`pack ${this.pack}: the body ended early`, { pack: this.pack });
    this.issue();
    await Promise.all(this.pending);
    this.release();
    this.check();
  }

  async abort(): Promise<void> {
    // A reader that gave up (a deadline, an abort) may leave a feed running: it must be done with the
    // buffers before they go back to the pool.
    await this.feeding?.catch(() => undefined);
    await Promise.all(this.pending);
    this.release();
    const l = this.large;
    this.large = undefined;
    if (l === undefined) return;
    await l.written.catch(() => undefined);
    await rm(l.tmp, { force: true });
  }

  private gatherBuffer(): Buffer {
    return this.sink.files.shared ? (sharedPool.pop() ?? pageAlignedBuffer(GATHER_BYTES, true)) : Buffer.allocUnsafeSlow(GATHER_BYTES);
  }

  private goesDirect(size: number): boolean {
    return this.sink.files.direct && size >= DIRECT_FROM;
  }

  private settle(p: Promise<unknown>): Promise<unknown> {
    return p.catch((err: unknown) => void (this.failure ??= { err }));
  }

  /** `reads` reads from `g`'s buffer; `then` (default `reads`) is all of the work, commits included. */
  private track(g: Gather, reads: Promise<unknown>, then: Promise<unknown> = reads): void {
    g.open++;
    g.busy.push(this.settle(reads).finally(() => g.open--));
    this.pending.push(this.settle(then));
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure.err;
  }

  private release(): void {
    if (!this.sink.files.shared || this.released) return;
    this.released = true;
    for (const g of [this.cur, this.spare]) if (g !== undefined && sharedPool.length < POOL_MAX) sharedPool.push(g.buf);
  }

  private async commitSmall(batch: Small[]): Promise<void> {
    for (const s of batch) {
      const w = this.sink.commit(s.tmp, s.digest, s.size, this.goesDirect(s.size));
      if (w !== undefined) await w;
      this.sink.onObject(s.digest, s.size);
    }
  }

  // Starts the writes of what `cur` holds: the small objects gathered, the large one's bytes so far (with
  // `last`, its final piece, written even when empty: it gives the file its mode).
  private issue(last = false): void {
    const { files } = this.sink;
    const cur = this.cur;
    if (this.small.length > 0) {
      const batch = this.small;
      const written = files.write(batch);
      this.track(cur, written, written.then(() => this.commitSmall(batch)));
      this.small = [];
    }
    const l = this.large;
    if (l !== undefined && (cur.used > this.from || last)) {
      const from = this.from;
      // For direct writes, up to a block boundary, but for the last piece and a full buffer (both end where
      // they end).
      const to = last || !files.direct || cur.used === GATHER_BYTES ? cur.used : from + Math.floor((cur.used - from) / DIRECT_BLOCK) * DIRECT_BLOCK;
      const data = cur.buf.subarray(from, to);
      const at = l.pos;
      l.pos += data.length;
      l.written = l.written.then(() => files.writeAt(l.tmp, data, at, last));
      this.track(cur, l.written);
      this.from = to;
    }
  }

  // Writes out `cur` and continues in the other buffer: at once when that one's writes are all done, else
  // once they are (the promise).
  private rotate(): Promise<void> | undefined {
    this.issue();
    const next = this.spare ?? { buf: this.gatherBuffer(), used: 0, busy: [], open: 0 };
    if (next.open === 0) return this.swap(next);
    return Promise.all(next.busy).then(() => this.swap(next));
  }

  private swap(next: Gather): undefined {
    this.check();
    next.used = 0;
    next.busy = [];
    this.spare = this.cur;
    this.cur = next;
    this.from = 0;
    return undefined;
  }

  // Room in `cur` for entry `e` before it starts: a small wanted object is gathered in one buffer, whole.
  private roomFor(e: PackEntry): Promise<void> | undefined {
    if (!this.wanted.has(e.digest) || e.size > SMALL_OBJECT) return undefined;
    const pad = this.goesDirect(e.size) ? alignToBlock(this.cur.used) - this.cur.used : 0;
    return pad + e.size > GATHER_BYTES - this.cur.used ? this.rotate() : undefined;
  }

  private startEntry(e: PackEntry): void {
    this.left = e.size;
    this.want = this.wanted.has(e.digest);
    if (!this.want) return;
    this.hasher.begin();
    // An object written with O_DIRECT starts on a block boundary (a rotated buffer starts on one).
    if (this.goesDirect(e.size)) this.cur.used = alignToBlock(this.cur.used);
    this.from = this.cur.used;
    if (e.size > SMALL_OBJECT) this.large = { entry: e, tmp: this.cache.tempPath(e.digest), pos: 0, written: Promise.resolve() };
  }

  private finishEntry(): void {
    const e = this.entries[this.i] as PackEntry;
    if (!this.want) return;
    this.want = false;
    this.hasher.check(this.pack, e);
    if (this.large === undefined) {
      this.small.push({ tmp: this.cache.tempPath(e.digest), digest: e.digest, size: e.size, data: this.cur.buf.subarray(this.from, this.cur.used) });
      this.from = this.cur.used;
      return;
    }
    this.issue(true);
    const l = this.large;
    this.large = undefined;
    this.pending.push(this.settle(this.finishLarge(l)));
  }

  // Hands a large object on once its pieces are written; a failed piece leaves no file behind.
  private async finishLarge(l: Large): Promise<void> {
    try {
      await l.written;
    } catch (err) {
      await rm(l.tmp, { force: true });
      throw err;
    }
    await this.sink.commit(l.tmp, l.entry.digest, l.entry.size, this.goesDirect(l.entry.size));
    this.sink.onObject(l.entry.digest, l.entry.size);
  }

  // Moves past the index or a finished entry, and past any empty entries after it: a promise when it must
  // wait for a buffer first.
  private advance(): Promise<void> | undefined {
    for (;;) {
      this.i++;
      const e = this.entries[this.i];
      if (e === undefined) return undefined;
      const w = this.roomFor(e);
      if (w !== undefined) return w.then(() => (this.begin(e) ? undefined : this.advance()));
      if (this.begin(e)) return undefined;
    }
  }

  // Starts entry `e`, and finishes it at once when it is empty: true when its bytes are still to come.
  private begin(e: PackEntry): boolean {
    this.startEntry(e);
    if (this.left > 0) return true;
    this.finishEntry();
    return false;
  }

  // Goes on with `view` from `off` once `w` settled.
  private async resume(w: Promise<void>, view: Buffer, off: number): Promise<void> {
    await w;
    this.check();
    const next = this.pump(view, off);
    if (next !== undefined) await next;
  }

  // The byte loop: synchronous until it must wait for a gather buffer, then a promise that goes on from
  // there. Each step hashes and copies the same piece, so where it stopped is all it needs to go on.
  private pump(view: Buffer, start: number): Promise<void> | undefined {
    let off = start;
    while (off < view.length) {
      if (this.i >= this.entries.length) throw new IntegrityError(`pack ${this.pack}: bytes past its last object`, { pack: this.pack });
      let take = Math.min(this.left, view.length - off);
      if (this.want) {
        if (this.cur.used === GATHER_BYTES) {
          const w = this.rotate();
          if (w !== undefined) return this.resume(w, view, off);
        }
        const cur = this.cur;
        take = Math.min(take, GATHER_BYTES - cur.used);
        const piece = view.subarray(off, off + take);
        this.hasher.update(piece, take === this.left);
        // fill, not copy: into shared memory V8 copies a word at a time with relaxed atomics (4.7 % of a
        // cold fetch's perf samples); Buffer#fill from a view of the same length is one memcpy in C++.
        cur.buf.subarray(cur.used, cur.used + take).fill(piece);
        cur.used += take;
        if (this.large !== undefined && cur.used - this.from >= WRITE_CHUNK) this.issue();
      }
      this.left -= take;
      off += take;
      if (this.left === 0) {
        this.finishEntry();
        const w = this.advance();
        if (w !== undefined) return this.resume(w, view, off);
      }
    }
    return undefined;
  }
}
