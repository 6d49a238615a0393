import { createHash } from 'node:crypto';
import { IntegrityError } from '../errors/index.js';
import type { ConsumeView } from '../store/store.js';
import { createHandoff } from '../util/handoff.js';
import { readFdInto } from '../util/read-fd-into.js';
import type { NixCache } from './cache.js';
import { systemDecompressor } from './decompress-tool.js';
import { closeFd, openFd, statFd } from './local-nar.js';
import { narTooBig, type NarInfo } from './narinfo.js';
import { parseNar, type NarSink } from './nar-parser.js';
import { spawnToolReader, type ToolReader } from './tool-reader.js';

// A NAR read into memory the reader reuses for every read, rather than as a stream of fresh buffers: no
// stream stage and no allocation per read, which on a closure of many files over HTTP cost the parser's
// thread more than the hashing (docs/nix.md, *A NAR read through reused buffers*).

/** A source that hands every byte of a NAR file to `consume` as views of memory it reuses; 'unsupported' when it cannot, having consumed nothing. */
export type ReadVia = (consume: ConsumeView) => Promise<'done' | 'unsupported'>;

/** What was read: the bytes and their sha256. */
export interface Measured {
  bytes: number;
  digest: Buffer;
}

/**
 * An uncompressed NAR from `read` into the parser (util/handoff.ts), hashed on the way. The caller has
 * bounded `read` by the signed NarSize. Undefined, with nothing parsed, when `read` is 'unsupported'.
 * Throws the parser's (or the sink's) own error as it is, else `read`'s.
 */
export async function parsePlainNar(info: NarInfo, sink: NarSink, read: ReadVia): Promise<Measured | undefined> {
  const hash = createHash('sha256');
  const handoff = createHandoff();
  let bytes = 0;
  let parsing: Promise<void> | undefined;
  let failed: { err: unknown } | undefined;
  // Started by the first byte: before it, the read may still prove 'unsupported'. A 'done' read had one,
  // since parseNarInfo refuses a NarSize of 0.
  const startParse = (): Promise<void> => {
    const p = parseNar(handoff.chunks, sink, info.storePath);
    p.then(
      () => handoff.close(),
      (err: unknown) => {
        failed ??= { err };
        // The read stops with the parser rather than wait for a pull that never comes.
        handoff.close(err);
      },
    );
    return p;
  };
  let how: 'done' | 'unsupported';
  try {
    how = await read((view) => {
      parsing ??= startParse();
      bytes += view.length;
      hash.update(view);
      return handoff.push(view);
    });
  } catch (err) {
    // A failed read ends the parser before anything is thrown: the caller then removes what it wrote.
    handoff.fail(err instanceof Error ? err : new Error(String(err)));
    await parsing?.catch(() => undefined);
    throw failed?.err ?? err;
  }
  if (how === 'unsupported') return undefined;
  handoff.end();
  await parsing;
  return { bytes, digest: hash.digest() };
}

/**
 * A NAR already whole in memory (a small NAR read whole, and decoded at once when compressed: fetch-nar.ts),
 * hashed, counted and parsed into `sink` with no stream between: for a closure of many small paths, five
 * streams piped per NAR cost more than decoding it. SizeLimitError past the signed NarSize, before anything
 * is parsed; else the parser's (or the sink's) own error.
 */
export async function parseNarInMemory(info: NarInfo, sink: NarSink, pieces: readonly Buffer[]): Promise<Measured> {
  const hash = createHash('sha256');
  let bytes = 0;
  for (const p of pieces) {
    hash.update(p);
    bytes += p.length;
  }
  if (bytes > info.narSize) throw narTooBig(info);
  let i = 0;
  const inOrder: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => ({
      next: (): Promise<IteratorResult<Buffer>> => Promise.resolve(i < pieces.length ? { value: pieces[i++] as Buffer, done: false } : { value: undefined, done: true }),
    }),
  };
  await parseNar(inOrder, sink, info.storePath);
  return { bytes, digest: hash.digest() };
}

/** `reader`'s output as a ReadVia (it never proves 'unsupported'). */
export const drained = (reader: ToolReader): ReadVia => async (consume) => {
  await reader.drain(consume);
  return 'done';
};

/**
 * A compressed NAR (zstd, xz, bzip2) from `read` straight into its system decompressor's stdin, each read
 * hashed (FileHash) on the way and its memory reused only once the tool's pipe took it; the tool's output,
 * capped at the signed NarSize (SizeLimitError past it), is hashed and parsed into `sink` as parsePlainNar
 * does. Undefined, with nothing read, when there is no system tool or `read` is 'unsupported'. Throws the
 * decode's own error (the tool's exit, the cap, the parser) as it is, else `read`'s. Returns the
 * compressed bytes and their sha256 (`file`) and the NAR's (`nar`).
 */
export async function decodeToolNar(info: NarInfo, sink: NarSink, read: ReadVia, signal?: AbortSignal): Promise<{ file: Measured; nar: Measured } | undefined> {
  const c = info.compression;
  const tool = c === 'zstd' || c === 'xz' || c === 'bzip2' ? systemDecompressor(c) : null;
  if (tool === null) return undefined;
  const hash = createHash('sha256');
  let bytes = 0;
  let decoding: { reader: ToolReader; parsed: Promise<Measured | undefined> } | undefined;
  // The read waiting on the tool's pipe, stopped by a failed decode, whose error is thrown as it is: a
  // write refused by the stopped tool says nothing of why.
  let stop: ((err: unknown) => void) | undefined;
  let failed: { err: unknown } | undefined;
  const start = async (): Promise<{ reader: ToolReader; parsed: Promise<Measured | undefined> }> => {
    const reader = await spawnToolReader(tool.file, tool.args, { stdin: 'pipe', cap: info.narSize, tooBig: () => narTooBig(info), ...(signal ? { signal } : {}) });
    const parsed = parsePlainNar(info, sink, drained(reader));
    parsed.catch((err: unknown) => {
      failed ??= { err };
      reader.kill();
      stop?.(err);
    });
    return { reader, parsed };
  };
  let how: 'done' | 'unsupported';
  try {
    how = await read(async (view) => {
      const dec = (decoding ??= await start());
      bytes += view.length;
      hash.update(view);
      const stdin = dec.reader.stdin;
      if (stdin === null) throw new Error(`${tool.file}: no stdin`);
      return new Promise<void>((resolve, reject) => {
        stop = reject;
        stdin.write(view, (err) => {
          if (err) void dec.parsed.then(() => reject(err), reject);
          else resolve();
        });
      });
    });
  } catch (err) {
    // Taken before the tool is stopped, whose stop fails the decode too.
    const cause = failed?.err ?? err;
    decoding?.reader.kill();
    await decoding?.parsed.catch(() => undefined);
    throw cause;
  }
  if (how === 'unsupported' || decoding === undefined) return undefined;
  decoding.reader.endInput();
  const nar = await decoding.parsed;
  if (nar === undefined) throw new Error(`${tool.file}: its output was not read`);
  return { file: { bytes, digest: hash.digest() }, nar };
}

/**
 * A stream's chunks as a ReadVia, each offered to the consumer in turn (an S3 or HTTPS body, whose client
 * makes its own buffers). A failure stops and destroys the stream.
 */
export function viaStream(body: AsyncIterable<Buffer>): ReadVia {
  return async (consume) => {
    for await (const chunk of body) {
      const held = consume(chunk);
      if (held !== undefined) await held;
    }
    return 'done';
  };
}

/**
 * The smallest NAR file read through the cache's own buffer. That reader opens a connection per file and
 * closes it after (http-read-into.ts), where the stream path reuses pooled keep-alive connections: a
 * closure of many small paths (a system's) would pay a TCP handshake per path, on a LAN a round trip
 * each, to save per-read work that only counts on large files.
 */
export const BUFFERED_HTTP_FROM = 1024 * 1024;

/**
 * The NAR file of `info` through the cache's own reused read buffer (readNarFileInto: plain HTTP), exactly
 * `size` bytes; undefined when the cache has no such reader or the file is under BUFFERED_HTTP_FROM.
 */
export function viaCacheBuffer(cache: NixCache, info: NarInfo, size: number, signal?: AbortSignal): ReadVia | undefined {
  const readInto = cache.readNarFileInto?.bind(cache);
  if (readInto === undefined || size < BUFFERED_HTTP_FROM) return undefined;
  return (consume) => readInto(info, size, consume, signal ? { signal } : {});
}

/**
 * The NAR file of `info` at `path` (its place in a local cache), read by this process in two reused
 * buffers (util/read-fd-into.ts), when it is a regular file of exactly `size` bytes opened without
 * following a symlink; 'unsupported' otherwise (a missing file, a symlink, another size: the stream path
 * then reads it and words the error). IntegrityError when it is not a regular file (a FIFO, a device:
 * the stream path would find no object there) and when the file ends early while read.
 */
export function viaLocalFile(path: string, info: NarInfo, size: number, signal?: AbortSignal): ReadVia {
  return async (consume) => {
    const fd = await openFd(path).catch(() => undefined);
    if (fd === undefined) return 'unsupported';
    try {
      const st = await statFd(fd).catch(() => undefined);
      if (st === undefined) return 'unsupported';
      if (!st.isFile()) throw new IntegrityError(`NAR file of ${info.storePath} (${info.url}) is not a regular file`, { storePath: info.storePath });
      if (st.size !== size) return 'unsupported';
      const short = (got: number): Error => new IntegrityError(`NAR of ${info.storePath} is truncated: its file ${info.url} ended after ${got} of ${size} bytes`, { storePath: info.storePath });
      await readFdInto(fd, size, consume, short, signal);
      return 'done';
    } finally {
      closeFd(fd);
    }
  };
}
