import { chmodSync, lutimesSync, mkdirSync, symlinkSync, utimesSync } from 'node:fs';
import { normalize } from 'node:path';
import { IntegrityError } from '../errors/index.js';
import { alignedSlots, createDirectWriter, openDirect, type DirectWriter } from './direct-writer.js';
import { closeQuietly, createExclusive, finishFile, syncData, writeAll, writeAllSync, writeSmallFileSync } from './fd-file.js';
import type { NarSink } from './nar-parser.js';
import { directWritesNow, directWritesSetting } from '../util/direct-writes.js';
import type { EarlyWriteback } from '../util/early-writeback.js';
import { pageCacheJudge } from '../util/page-cache-judge.js';

/** Nix's canonical store metadata: mtime 1, no write bits. */
const CANONICAL_MTIME = 1;
/**
 * Files up to this size are gathered in memory and written at once, on this thread (open, writev, futimes,
 * close: fd-file.ts). Larger files stream behind the parser, in batches of BATCH_BYTES.
 */
const SMALL_FILE = 1 << 20;
/**
 * How far the parser may run ahead of a large file's writes: the bytes handed to them and not yet written.
 * Filling fresh page-cache pages is the slowest step of a fetch, so without slack the decompressor stalls
 * while a batch is written and the writer then waits for the decompressor (60–70 ms of a 50 MB zstd file),
 * and the files after a large one wait for its last write. 2 MiB did as well as 8 MiB there, and a cold
 * fetch's peak RSS grew by 20 MB with 2 MiB against 30–45 MB with 8 MiB (docs/nix.md).
 */
const WRITE_BEHIND = 2 * SMALL_FILE;
/**
 * The bytes of a large file written at once. Small enough to stay in the core's share of the cache between
 * the copy that fills a batch and the write that copies it into the page cache: on this project's 2-core
 * VM, dd of a 50 MB file with 1 MiB blocks took 0.08–0.11 s of system time against 0.02 s with 64–512 KiB
 * blocks, and a cold fetch of three 50 MB files spent 0.34–0.49 s of system time with 1 MiB batches against
 * 0.19–0.26 s with these (docs/nix.md).
 */
const BATCH_BYTES = 256 * 1024;

/**
 * Writes a NAR's small files off the parser's thread (src/fetch/nar-file-writer.ts: filesystem threads).
 * A sink without one writes each small file itself, on this thread, as it is parsed.
 */
export interface NarFileWriter {
  /** Whether to hand over the next small file, of `size` bytes (else the sink writes it itself). */
  wants(size: number): boolean;
  /**
   * Queues the new file `path` (a fresh name under a directory the sink made) with exactly `mode`, mtime
   * `mtime` and the bytes of `chunks` (`size` in all), copied by the time this resolves: the caller may
   * reuse them then. Waits while earlier files hold every buffer; rejects with an earlier write's failure.
   */
  add(path: string, mode: number, mtime: number, chunks: readonly Buffer[], size: number): Promise<void>;
  /** Writes what is queued and waits for every write; rejects with the first failure. */
  end(): Promise<void>;
  /** Waits for the writes in flight, whatever their outcome (before a failed NAR's tree is removed). */
  settled(): Promise<void>;
  /**
   * The fetch's early writeback (util/early-writeback.ts), when it has one: the sink counts toward it the
   * bytes it writes itself through the page cache (its small files, its large files' batches), so that the
   * disk writes a 50 MB file while it is still arriving rather than from its end.
   */
  readonly writeback?: EarlyWriteback;
}

/** Whether the process umask leaves r-x bits alone, so a file can be created with its final mode (no fchmod). */
function umaskKeepsReadBits(): boolean {
  const mask = process.umask();
  return (mask & 0o555) === 0;
}

/**
 * A NarSink that creates the archive at `dest` (a fresh name that must not exist). Every entry is created
 * exclusively (mkdir, O_CREAT|O_EXCL|O_NOFOLLOW, symlink all fail on an existing name) under directories
 * this sink made itself, and names were checked by the parser (no "/", ".", ".."): so nothing is ever written
 * through an existing path or a symlink, whatever a symlink's target says. Symlinks are stored as-is (Nix
 * allows targets outside the path) and never followed. Files get Nix's read-only mode and mtime 1 as they
 * are written; call `finish()` after a complete parse to do the same for symlinks and directories, deepest
 * first. With `writer`, the small files it wants are handed to it (written on its threads; `finish()` waits
 * for them). Throws the filesystem's errors, or IntegrityError when a file's contents end short.
 */
export function createUnpackSink(dest: string, what: string, writer?: NarFileWriter): NarSink & { finish(): Promise<void>; settle(): Promise<void>; files: string[] } {
  const dirs: string[] = [];
  const links: string[] = [];
  const modeAtOpen = umaskKeepsReadBits();
  const inFlight = new Set<Promise<void>>();
  // Batch buffers whose writes are done, for this sink's next large-file batches. A fresh buffer per batch
  // faulted in its pages on the parser's thread, ~40 ms of a 150 MB closure of three large files (`perf`),
  // and left every written one to the collector. No more are ever made than are in use at once: WRITE_BEHIND
  // behind the parser and one filling, twice while a file's last writes overlap the next file's first.
  const spare: Buffer[] = [];
  const pool: BatchPool = {
    take: () => spare.pop() ?? Buffer.allocUnsafeSlow(BATCH_BYTES),
    give: (b) => void spare.push(b),
  };
  let failure: { err: unknown } | undefined;
  // Put together by hand, not by path.join: its normalising was 6 ms of a NAR of 300 small files on the
  // main thread, and the parser's paths need none (names checked: no "/", ".", ".." or empty, '/'-joined).
  const base = normalize(dest);
  const at = (rel: string): string => (rel === '' ? base : `${base}/${rel}`);

  const short = (rel: string): IntegrityError => new IntegrityError(`NAR of ${what}: ${rel} is short`, { storePath: what });
  const chmodTo = (mode: number): number | undefined => (modeAtOpen ? undefined : mode);

  const writeSmall = (rel: string, mode: number, size: number, chunks: Buffer[]): void => {
    const written = writeSmallFileSync(at(rel), modeAtOpen ? mode : 0o600, chunks, CANONICAL_MTIME, chmodTo(mode));
    if (written !== size) throw short(rel);
    void writer?.writeback?.wrote(written);
    sink.files.push(at(rel));
  };

  /**
   * Streams a large file's batches into writes that run one after another, up to WRITE_BEHIND bytes behind
   * the parser; once its contents are read, the last writes, the size check and the file's finish run in
   * the background like a small file's, and the parser goes on. With direct writes 'auto' (the default,
   * util/direct-writes.ts) the writes through the page cache the process's judge samples are made here and
   * timed for it, and once it finds the cache slow the rest of the file goes to the device (and so do the
   * files after it).
   */
  const writeLarge = async (rel: string, mode: number, size: number, contents: AsyncIterable<Buffer>): Promise<{ rest: Promise<void> }> => {
    // 0600 until finished, whatever the umask: the direct descriptor is a second open for writing, which a
    // 0444 file allows only to root.
    const fd = await createExclusive(at(rel), 0o600);
    const directFd = await openDirect(at(rel));
    if (directFd !== undefined) return writeDirect(rel, mode, size, contents, fd, directFd);
    let judging = directWritesSetting() === 'auto';
    let written = 0;
    let behind = 0;
    let tail: Promise<void> = Promise.resolve();
    // Each batch's write, settled whatever its outcome: a failure is kept in `failed` and thrown by the
    // loop, and carried by `tail` to the file's finish. A rejected write no one awaited would be an
    // unhandled rejection (every one after a failed write rejects too).
    const queued: Promise<void>[] = [];
    let failed: { err: unknown } | undefined;
    const queue = (buf: Buffer, bytes: number): void => {
      behind += bytes;
      // The judge's samples are made on this thread and timed around the call (page-cache-judge.ts says
      // why), in their turn of the chain, at the descriptor's position like the others. Full batches only:
      // a file's last, short one is mostly the call's fixed cost, and a rate from it reads as a slow cache.
      const timed = judging && bytes === BATCH_BYTES && pageCacheJudge.sample();
      tail = tail.then(async () => {
        let n: number;
        if (timed) {
          const t0 = performance.now();
          n = writeAllSync(fd, [buf.subarray(0, bytes)], at(rel));
          pageCacheJudge.note(n, performance.now() - t0);
        } else {
          n = await writeAll(fd, [buf.subarray(0, bytes)]);
        }
        written += n;
        behind -= bytes;
        void writer?.writeback?.wrote(n);
        // Reused only once written: libuv's pool reads it until then. A failed write's buffer is let go.
        pool.give(buf);
      });
      queued.push(tail.catch((err: unknown) => void (failed ??= { err })));
    };
    /** The rest of the file around the page cache, from where the cached writes end, once they did. */
    const goDirect = async (): Promise<DirectWriter | undefined> => {
      judging = false;
      await Promise.all(queued.splice(0));
      if (failed !== undefined) throw failed.err;
      const direct = await openDirect(at(rel));
      return direct === undefined ? undefined : createDirectWriter(fd, direct, alignedSlots(WRITE_BEHIND / SMALL_FILE + 1), written);
    };
    let direct: DirectWriter | undefined;
    let buf: Buffer | undefined;
    let bytes = 0;
    try {
      for await (const c of contents) {
        if (direct !== undefined) {
          const wait = direct.push(c);
          if (wait !== undefined) await wait;
          continue;
        }
        // Copied into batches: a chunk is valid only until the next is pulled (NarSink), and a batch is
        // written behind the parser.
        for (let off = 0; off < c.length; ) {
          buf ??= pool.take();
          const n = c.copy(buf, bytes, off);
          bytes += n;
          off += n;
          if (bytes < BATCH_BYTES) continue;
          queue(buf, bytes);
          buf = undefined;
          bytes = 0;
          while (behind > WRITE_BEHIND && failed === undefined) await queued.shift();
          if (failed !== undefined) throw failed.err;
          if (!judging || !directWritesNow()) continue;
          direct = await goDirect();
          if (direct === undefined) continue;
          const wait = direct.push(c.subarray(off));
          if (wait !== undefined) await wait;
          break;
        }
      }
      if (direct === undefined && buf !== undefined) queue(buf, bytes);
    } catch (err) {
      await tail.catch(() => undefined);
      await direct?.abort();
      await closeQuietly(fd);
      throw err;
    }
    // Part through the page cache: its finish flushes the file (finishLarge), as for a file all through it.
    const ended = direct === undefined ? tail.then(() => ({ written, direct: false })) : direct.end().then((r) => ({ written: r.written, direct: false }));
    // Wrapped: a promise returned bare would be awaited by the caller's await.
    return { rest: finishLarge(rel, mode, size, fd, ended) };
  };

  /**
   * After a large file's last write (`ended`, with the bytes written and whether all went straight to the
   * device): the size check, then, for bytes written through the page cache, their writeback started now,
   * beside the files after it, rather than in the closure's one flush at the end, which then has less to
   * wait for (a cold 150 MB fetch 429 → 385 ms, zstd 661 → 593 ms); then its mode (it was created 0600),
   * mtime and close.
   */
  const finishLarge = (rel: string, mode: number, size: number, fd: number, ended: Promise<{ written: number; direct: boolean }>): Promise<void> =>
    ended.then(
      async ({ written, direct }) => {
        if (written !== size) throw short(rel);
        if (!direct) await syncData(fd);
        await finishFile(fd, CANONICAL_MTIME, mode);
        sink.files.push(at(rel));
      },
      async (err: unknown) => {
        await closeQuietly(fd);
        throw err;
      },
    );

  /**
   * writeLarge through direct-writer.ts: the same bound behind the parser (the slots after the one filling),
   * and no early writeback, since the bytes are already on the device; the closure's flush before the
   * renames still makes the file's metadata durable.
   */
  const writeDirect = async (rel: string, mode: number, size: number, contents: AsyncIterable<Buffer>, fd: number, directFd: number): Promise<{ rest: Promise<void> }> => {
    const writer = createDirectWriter(fd, directFd, alignedSlots(WRITE_BEHIND / SMALL_FILE + 1));
    try {
      for await (const chunk of contents) {
        const wait = writer.push(chunk);
        if (wait !== undefined) await wait;
      }
    } catch (err) {
      await writer.abort();
      await closeQuietly(fd);
      throw err;
    }
    return { rest: finishLarge(rel, mode, size, fd, writer.end()) };
  };

  // A small file's bytes, as the one chunk that holds them all, or else copied into `assembly` as they
  // come: a chunk is valid only until the next is pulled (NarSink), and a file that spans chunks would
  // otherwise be written from a buffer the reader already reused. One buffer serves every file, since
  // both writeSmall and writer.add are done with it when file() returns.
  let assembly: Buffer | undefined;
  const gather = async (contents: AsyncIterable<Buffer>, size: number): Promise<Buffer[]> => {
    let got = 0;
    let whole: Buffer | undefined;
    for await (const c of contents) {
      if (got === 0 && c.length === size) {
        whole = c;
      } else {
        assembly ??= Buffer.allocUnsafeSlow(SMALL_FILE);
        c.copy(assembly, got);
      }
      got += c.length;
    }
    if (whole !== undefined) return [whole];
    return assembly === undefined || got === 0 ? [] : [assembly.subarray(0, got)];
  };

  /** Tracks a background write: its failure fails the sink (the next file and finish() throw it). */
  const track = (write: Promise<void>): void => {
    const p = write.catch((err: unknown) => void (failure ??= { err }));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  const sink = {
    files: [] as string[],
    directory(rel: string): Promise<void> {
      mkdirSync(at(rel), { mode: 0o700 });
      dirs.push(at(rel));
      return Promise.resolve();
    },
    async file(rel: string, executable: boolean, size: number, contents: AsyncIterable<Buffer>): Promise<void> {
      if (failure !== undefined) throw failure.err;
      const mode = executable ? 0o555 : 0o444;
      if (size > SMALL_FILE) return track((await writeLarge(rel, mode, size, contents)).rest);
      const chunks = await gather(contents, size);
      if (writer === undefined || !writer.wants(size)) return writeSmall(rel, mode, size, chunks);
      // `contents` is exactly `size` bytes (the parser's reader throws on a short NAR).
      await writer.add(at(rel), mode, CANONICAL_MTIME, chunks, size);
      sink.files.push(at(rel));
    },
    symlink(rel: string, target: string): Promise<void> {
      symlinkSync(target, at(rel));
      links.push(at(rel));
      return Promise.resolve();
    },
    async finish(): Promise<void> {
      // The handed-over files before the directories turn read-only (no file could be created in them after).
      const handed = writer?.end();
      if (handed !== undefined) track(handed);
      await sink.settle();
      if (failure !== undefined) throw failure.err;
      for (const l of links) lutimesSync(l, CANONICAL_MTIME, CANONICAL_MTIME);
      for (const d of [...dirs].reverse()) {
        chmodSync(d, 0o555);
        utimesSync(d, CANONICAL_MTIME, CANONICAL_MTIME);
      }
    },
    /** Waits for the background writes (call before removing `dest` after a failed parse). */
    async settle(): Promise<void> {
      while (inFlight.size > 0) await Promise.all(inFlight);
      await writer?.settled();
    },
  };
  return sink;
}

/** Buffers of BATCH_BYTES for a large file's batches: taken to fill, given back once written. */
interface BatchPool {
  take(): Buffer;
  give(buf: Buffer): void;
}
