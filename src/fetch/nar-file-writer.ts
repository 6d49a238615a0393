import type { NarFileWriter } from '../nix/index.js';
import { pageAlignedBuffer } from '../util/page-aligned.js';
import type { EarlyWriteback } from '../util/early-writeback.js';
import { throwIfFailed, type FsOpRunner } from './fs-op-runner.js';
import { alignToBlock, DIRECT_BLOCK, DIRECT_FROM, type FsOp } from './fs-ops.js';

// A NAR's small files (up to 1 MiB, nar-unpack.ts) are copied into one of two shared buffers per NAR and
// written a buffer at a time by a filesystem thread, while the parser goes on in the other buffer.
// Written on the parser's thread instead, a 150 MB closure of 2,130 files took 0.87 s against 0.33 s with
// no small file written at all (docs/nix.md). A buffer holds the largest small file with its alignment pad.
const GATHER_BYTES = 1024 * 1024 + 64 * 1024;

/**
 * Until a fetch has seen this many bytes of small files, the sink writes them itself. What a small file
 * costs there is mostly its bytes (fresh page-cache pages): 900 files of a few bytes each take ~25 ms,
 * less than a thread's start (~30 ms of CPU) and its buffers' memory; handed over by count, they made
 * the Nix benchmark's closure (three 50 MB files, 900 tiny ones) 20–40 ms slower and its peak RSS 148 MB.
 */
export const HAND_OVER_FROM = 4 * 1024 * 1024;

/**
 * The NAR bytes a fetch must have to fetch for its small files to go to a thread at all (materialise.ts's
 * fileWriterFrom): a fetch of less is over before the thread pays for itself. A closure of 301 small
 * paths (~5 MB of NAR) crossed HAND_OVER_FROM near its end, then waited ~60 ms, idle, on the thread's
 * start (~25 ms of a worker's bootstrap, most of it compiling Node's built-in modules) and on the files
 * queued meanwhile: cold, a median 0.556 s with the thread against 0.475 s without it uncompressed,
 * 0.556 against 0.414 s from zstd, lower in every one of 18 rounds. A closure of 120 paths of ~0.5 MB
 * each (~60 MB) was no slower with the thread (docs/performance.md, session 40).
 */
export const FILE_THREAD_FROM = 32 * 1024 * 1024;

interface Gather {
  buf: Buffer;
  used: number;
  ops: FsOp[];
  /** The write of what this buffer held last: it is refilled only once that settled (never rejects). */
  busy: Promise<void>;
}

/**
 * Writers of NARs' small files (one per NAR, `forNar`) on `runner`'s threads, which start only once the
 * fetch has seen HAND_OVER_FROM (`from`) bytes of small files: the files before that are written by the
 * sink. A NAR done with its two buffers leaves them to the next (a fresh buffer costs a fault per page).
 * With `writeback`, the bytes the threads write through the page cache are counted toward it, and each
 * NAR's sink counts its own (NarFileWriter.writeback).
 */
export function narFileWriters(runner: FsOpRunner, from = HAND_OVER_FROM, writeback?: EarlyWriteback): { forNar: () => NarFileWriter } {
  let bytes = 0;
  const pool: Buffer[] = [];
  const handing = (size: number): boolean => {
    bytes += size;
    return size <= GATHER_BYTES - DIRECT_BLOCK && bytes > from;
  };
  const take = (): Buffer => pool.pop() ?? pageAlignedBuffer(GATHER_BYTES, runner.threaded);
  const give = (b: Buffer): void => void (pool.length < POOL_MAX ? pool.push(b) : undefined);
  return { forNar: () => narFileWriter(runner, handing, take, give, writeback) };
}

/** Buffers kept for the next NARs: two for each of the four fetched at once (materialise.ts). */
const POOL_MAX = 8;

function narFileWriter(runner: FsOpRunner, handing: (size: number) => boolean, take: () => Buffer, give: (b: Buffer) => void, writeback?: EarlyWriteback): NarFileWriter {
  let failure: { err: unknown } | undefined;
  const fresh = (): Gather => ({ buf: take(), used: 0, ops: [], busy: Promise.resolve() });
  let cur: Gather | undefined;
  let spare: Gather | undefined;
  let released = false;
  const issue = (g: Gather): void => {
    if (g.ops.length === 0) return;
    const ops = g.ops;
    g.ops = [];
    // What went through the page cache, for the early writeback (not a direct write's blocks).
    const cached = ops.reduce((n, o) => n + (o.op !== 'write' || (runner.direct && o.data.length >= DIRECT_FROM) ? 0 : o.data.length), 0);
    g.busy = g.busy
      .then(() => runner.run(ops))
      .then((results) => {
        throwIfFailed(results);
        void writeback?.wrote(cached);
      })
      .catch((err: unknown) => void (failure ??= { err }));
  };
  const check = (): void => {
    if (failure !== undefined) throw failure.err;
  };
  // Only once every write from them settled, and only once: a buffer pooled twice would be two NARs' at once.
  const settled = async (): Promise<void> => {
    await Promise.all([cur?.busy, spare?.busy]);
    if (released) return;
    released = true;
    for (const g of [cur, spare]) if (g !== undefined) give(g.buf);
  };
  return {
    ...(writeback === undefined ? {} : { writeback }),
    wants: handing,
    async add(path, mode, mtime, chunks, size) {
      check();
      if (released) throw new Error(`NAR file writer: ${path} added after the end`);
      cur ??= fresh();
      // As in pack-splitter.ts: where the thread writes with O_DIRECT, a file of DIRECT_FROM bytes or more
      // starts on a block boundary of the page-aligned buffer, so its blocks go from where they lie (fs-ops.ts).
      let at = runner.direct && size >= DIRECT_FROM ? alignToBlock(cur.used) : cur.used;
      if (at + size > GATHER_BYTES) {
        issue(cur);
        const next: Gather = spare ?? fresh();
        spare = cur;
        cur = next;
        // settled() cannot pool this buffer meanwhile: it waits on the same promise, subscribed after us.
        await cur.busy;
        check();
        cur.used = 0;
        at = 0;
      }
      let o = at;
      for (const c of chunks) {
        // fill, not set: into shared memory V8 copies a word at a time (pack-splitter.ts); one memcpy this way.
        if (c.length > 0) cur.buf.subarray(o, o + c.length).fill(c);
        o += c.length;
      }
      cur.ops.push({ op: 'write', dest: path, data: cur.buf.subarray(at, at + size), mode, mtime });
      cur.used = at + size;
    },
    async end() {
      if (cur !== undefined) issue(cur);
      await settled();
      check();
    },
    settled,
  };
}
