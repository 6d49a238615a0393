import { closeSync, constants, openSync, rmSync, write, writeSync } from 'node:fs';
import { IntegrityError, TransportError } from '../errors/index.js';
import type { PackEntry } from '../packages/pack-format.js';
import type { Digest } from '../store/digest.js';
import type { ObjectCache } from './object-cache.js';
import type { PackSplitSink, PackSplitter } from './pack-splitter.js';
import { EntryHasher, PackIndexReader } from './pack-stream-check.js';
import { TEMP_MODE } from './write-temps.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;

/**
 * A piece of an object this long or longer is written through libuv's pool rather than on this thread. A
 * write into the page cache is the kernel copying the bytes and finding pages for them (reclaiming them
 * when memory is full): 60–70 ms of a cold fetch's main thread for 150 MB in a CPU profile, which through
 * the pool run on the other core while this thread hashes the other packs' bytes. Where pages must be
 * reclaimed that took 13–15 % off a cold fetch over HTTP; on a host with free pages it is within the noise
 * (docs/performance.md, session 34). Shorter pieces (most files are small) cost less written here than
 * the hop through the pool does.
 */
export const POOL_WRITE_FROM = 64 * 1024;

/** Writes all of `data` at `pos` of `fd` through libuv's pool (a short write is continued). */
function writeThroughPool(fd: number, path: string, data: Buffer, pos: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const next = (): void =>
      write(fd, data, done, data.length - done, pos + done, (err, n) => {
        if (err) reject(err);
        else if (n === 0) reject(new Error(`write to ${path} wrote nothing`));
        else if ((done += n) < data.length) next();
        else resolve();
      });
    next();
  });
}

/** An entry whose bytes are all hashed and checked, waiting for its writes through the pool to settle. */
interface Finished {
  fd: number;
  tmp: string;
  entry: PackEntry;
  writes: Array<Promise<void>>;
}

/**
 * A splitter that writes each wanted entry straight from the views it is fed: its file is created (never
 * over an existing name, TEMP_MODE) on the calling thread when the entry starts, written as its bytes pass,
 * closed when it ends, and removed should it not hash right. No gather buffer, no copy, no message to
 * another thread, no thread to start: as bare Node's floor does, at about half the CPU of handing the bytes
 * to a filesystem thread (docs/performance.md, session 30). Pieces of POOL_WRITE_FROM bytes or more are
 * written through libuv's pool: `feed` then returns a promise that settles once the view's writes did,
 * and only then are the entries that ended in it closed and handed on, in order (a descriptor is never
 * closed with a write on it in flight: its number could be reused by the next open). For a network fetch,
 * whose sockets buffer what arrives meanwhile. Same contract as createPackSplitter; `feed` otherwise
 * waits only, once, for `ready`.
 */
export function createInlinePackSplitter(cache: ObjectCache, pack: Digest, entries: readonly PackEntry[], wanted: ReadonlySet<Digest>, sink: PackSplitSink, ready?: Promise<void>): PackSplitter {
  return new InlinePackSplit(cache, pack, entries, wanted, sink, ready);
}

// A class for the same reason as PackSplit: one optimised byte loop for every pack of the process.
class InlinePackSplit implements PackSplitter {
  private readonly index: PackIndexReader;
  private i = -1; // entry being read; -1 while in the index
  private left = 0;
  private want = false;
  private readonly hasher = new EntryHasher();
  // The wanted entry's open file (-1: none), its name and how much of it is written.
  private fd = -1;
  private tmp = '';
  private pos = 0;
  private failure: { err: unknown } | undefined;
  // Set by abort(): a first feed still waiting for `ready` must then leave its view (a reader's buffer,
  // maybe reused by now) alone.
  private aborted = false;
  // Commits that had to wait (a full batch of the committer): end() and abort() wait for them.
  private readonly pending: Array<Promise<unknown>> = [];
  // The current view's writes through the pool, the entry being written's among them, and the entries
  // that ended in this view since its first such write: they are closed and handed on once those settle.
  private viewWrites: Array<Promise<void>> = [];
  private entryWrites: Array<Promise<void>> = [];
  private finished: Finished[] = [];
  // Settles once the last view's writes did and its finished entries were handed on (or removed).
  private settling: Promise<void> | undefined;

  constructor(
    private readonly cache: ObjectCache,
    private readonly pack: Digest,
    private readonly entries: readonly PackEntry[],
    private readonly wanted: ReadonlySet<Digest>,
    private readonly sink: PackSplitSink,
    // Settles once the directories its files go into exist: the first bytes wait for it (the socket
    // paused meanwhile), so the request need not.
    private ready?: Promise<void>,
  ) {
    this.index = new PackIndexReader(pack, entries);
  }

  feed(view: Buffer): Promise<void> | undefined {
    const ready = this.ready;
    if (ready === undefined) return this.take(view);
    this.ready = undefined;
    return ready.then(() => this.take(view));
  }

  private take(view: Buffer): Promise<void> | undefined {
    if (this.aborted) return undefined;
    this.check();
    try {
      let off = 0;
      // The index outside the byte loop, as in PackSplit.
      if (this.i < 0) {
        off = this.index.take(view);
        if (!this.index.done) return undefined;
        this.advance();
      }
      this.pump(view, off);
    } finally {
      // Also when the view failed part way: abort() then waits for what it had sent.
      if (this.viewWrites.length > 0) this.settleView();
    }
    return this.settling;
  }

  /** Once the view's writes settle: closes each entry that ended in it, then hands it on or removes it. */
  private settleView(): void {
    const writes = this.viewWrites;
    const finished = this.finished;
    this.viewWrites = [];
    this.finished = [];
    // The entry still being written keeps its descriptor; its later pieces come in later views.
    this.entryWrites = [];
    const settling = Promise.allSettled(writes).then((results) => {
      // A finished entry's writes are among the view's, settled by now: their failures, by write.
      const failed = new Map<Promise<void>, { err: unknown }>();
      results.forEach((r, k) => void (r.status === 'rejected' && failed.set(writes[k] as Promise<void>, { err: r.reason })));
      // Every finished entry's descriptor is closed, whatever fails: one that did is removed, not handed on.
      let first: { err: unknown } | undefined;
      for (const f of finished) {
        let err = f.writes.map((w) => failed.get(w)).find((x) => x !== undefined)?.err;
        try {
          closeSync(f.fd);
          if (err === undefined) this.handOn(f.tmp, f.entry);
        } catch (e) {
          err ??= e;
        }
        if (err !== undefined) {
          rmSync(f.tmp, { force: true });
          first ??= { err };
        }
      }
      const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (bad !== undefined) throw bad.reason;
      if (first !== undefined) throw first.err;
    });
    this.settling = settling;
    settling.then(
      () => void (this.settling === settling && (this.settling = undefined)),
      () => undefined, // the caller reads the failure from the promise feed returned
    );
  }

  async end(): Promise<void> {
    await this.settling;
    this.check();
    if (this.i < this.entries.length) throw new TransportError(`pack ${this.pack}: the body ended early`, { pack: this.pack });
    await Promise.all(this.pending);
    this.check();
  }

  async abort(): Promise<void> {
    this.aborted = true;
    await this.settling?.catch(() => undefined);
    this.dropOpen();
    await Promise.all(this.pending);
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure.err;
  }

  /** Closes and removes the file of the entry being written, if any. */
  private dropOpen(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    try {
      closeSync(fd);
    } finally {
      rmSync(this.tmp, { force: true });
    }
  }

  // Moves past the index or a finished entry, and through any empty entries after it.
  private advance(): void {
    for (;;) {
      this.i++;
      const e = this.entries[this.i];
      if (e === undefined) return;
      this.startEntry(e);
      if (this.left > 0) return;
      this.finishEntry();
    }
  }

  private startEntry(e: PackEntry): void {
    this.left = e.size;
    this.want = this.wanted.has(e.digest);
    if (!this.want) return;
    this.hasher.begin();
    this.tmp = this.cache.tempPath(e.digest);
    this.fd = openSync(this.tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, TEMP_MODE);
    this.pos = 0;
  }

  private finishEntry(): void {
    if (!this.want) return;
    this.want = false;
    const e = this.entries[this.i] as PackEntry;
    // A mismatch leaves the file open: abort(), which the caller runs after any failure, removes it.
    this.hasher.check(this.pack, e);
    const fd = this.fd;
    this.fd = -1;
    // Behind a write still in flight, or an entry that waits for one (so that entries are handed on in order).
    if (this.entryWrites.length > 0 || this.finished.length > 0) {
      this.finished.push({ fd, tmp: this.tmp, entry: e, writes: this.entryWrites });
      this.entryWrites = [];
      return;
    }
    closeSync(fd);
    this.handOn(this.tmp, e);
  }

  private handOn(tmp: string, e: PackEntry): void {
    const w = this.sink.commit(tmp, e.digest, e.size, false);
    if (w !== undefined) this.pending.push(w.catch((err: unknown) => void (this.failure ??= { err })));
    this.sink.onObject(e.digest, e.size);
  }

  private pump(view: Buffer, start: number): void {
    let off = start;
    while (off < view.length) {
      if (this.i >= this.entries.length) throw new IntegrityError(`pack ${this.pack}: bytes past its last object`, { pack: this.pack });
      const take = Math.min(this.left, view.length - off);
      if (this.want) {
        const piece = view.subarray(off, off + take);
        this.hasher.update(piece, take === this.left);
        if (take >= POOL_WRITE_FROM) {
          const w = writeThroughPool(this.fd, this.tmp, piece, this.pos);
          w.catch(() => undefined); // read by settleView
          this.viewWrites.push(w);
          this.entryWrites.push(w);
        } else {
          for (let w = 0; w < take; ) {
            const n = writeSync(this.fd, piece, w, take - w, this.pos + w);
            if (n === 0) throw new Error(`write to ${this.tmp} wrote nothing`);
            w += n;
          }
        }
        this.pos += take;
      }
      this.left -= take;
      off += take;
      if (this.left === 0) {
        this.finishEntry();
        this.advance();
      }
    }
  }
}
