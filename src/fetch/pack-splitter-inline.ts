import { closeSync, constants, openSync, rmSync, writeSync } from 'node:fs';
import { IntegrityError, TransportError } from '../errors/index.js';
import type { PackEntry } from '../packages/pack-format.js';
import type { Digest } from '../store/digest.js';
import type { ObjectCache } from './object-cache.js';
import type { PackSplitSink, PackSplitter } from './pack-splitter.js';
import { EntryHasher, PackIndexReader } from './pack-stream-check.js';
import { TEMP_MODE } from './write-temps.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;

/**
 * A splitter that writes each wanted entry synchronously, on the calling thread, straight from the views
 * it is fed: its file is created (never over an existing name, TEMP_MODE) when the entry starts, written as
 * its bytes pass, closed when it ends, and removed should it not hash right. No gather buffer, no copy,
 * no message to another thread, no thread to start: as bare Node's floor does, at about half the CPU of
 * handing the bytes to a filesystem thread (docs/performance.md, session 30). For a network fetch, whose
 * sockets buffer what arrives meanwhile. Same contract as createPackSplitter; `feed` waits only, once,
 * for `ready`.
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

  private take(view: Buffer): undefined {
    if (this.aborted) return undefined;
    this.check();
    let off = 0;
    // The index outside the byte loop, as in PackSplit.
    if (this.i < 0) {
      off = this.index.take(view);
      if (!this.index.done) return undefined;
      this.advance();
    }
    this.pump(view, off);
    return undefined;
  }

  async end(): Promise<void> {
    this.check();
    if (this.i < this.entries.length) throw new TransportError(`pack ${this.pack}: the body ended early`, { pack: this.pack });
    await Promise.all(this.pending);
    this.check();
  }

  async abort(): Promise<void> {
    this.aborted = true;
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
    closeSync(fd);
    const w = this.sink.commit(this.tmp, e.digest, e.size, false);
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
        for (let w = 0; w < take; ) {
          const n = writeSync(this.fd, piece, w, take - w, this.pos + w);
          if (n === 0) throw new Error(`write to ${this.tmp} wrote nothing`);
          w += n;
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
