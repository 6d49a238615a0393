import { createHash } from 'node:crypto';
import { Transform, type Duplex, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FlotillaError, IntegrityError, SizeLimitError } from '../errors/index.js';
import type { NixCache } from './cache.js';
import { createHandoff } from '../util/handoff.js';
import { createDecompressor } from './decompress.js';
import { systemDecompressor, toolStream } from './decompress-tool.js';
import { formatSha256 } from './hash.js';
import { openLocalNar } from './local-nar.js';
import type { NarInfo } from './narinfo.js';
import { parseNar, type NarSink } from './nar-parser.js';
import { createUnpackSink, type NarFileWriter } from './nar-unpack.js';

/**
 * Counts (and, with `hashing`, hashes) what passes; fails with `tooBig` once more than `cap` bytes have
 * passed. `digest()` is undefined when not hashing.
 */
function meter(cap: number, tooBig: () => Error, hashing = true): Transform & { bytes: number; digest: () => Buffer | undefined } {
  const hash = hashing ? createHash('sha256') : undefined;
  const t = new Transform({
    transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
      m.bytes += chunk.length;
      if (m.bytes > cap) return done(tooBig());
      hash?.update(chunk);
      done(null, chunk);
    },
  });
  let digest: Buffer | undefined;
  const m = Object.assign(t, { bytes: 0, digest: () => (digest ??= hash?.digest()) });
  return m;
}

/** The most compressed bytes accepted for a NAR: FileSize when given, else the NAR size plus framing slack. */
function fileCap(info: NarInfo): number {
  return info.fileSize ?? info.narSize + Math.ceil(info.narSize / 16) + 1024 * 1024;
}

/**
 * Streams `info`'s NAR from `cache` into `dest` (a fresh path), decompressing, hashing and unpacking in one
 * pass, then checks FileSize, FileHash, NarSize and NarHash. Throws IntegrityError or SizeLimitError naming
 * the store path on any mismatch, a truncated or oversized stream, or a malformed NAR; the caller removes
 * `dest` then. Returns the compressed and NAR byte counts and the files written (for a
 * fallback fsync). `writer` writes the small files off this thread (createUnpackSink).
 */
export async function fetchNarInto(cache: NixCache, info: NarInfo, dest: string, signal?: AbortSignal, writer?: NarFileWriter): Promise<{ fileBytes: number; narBytes: number; files: string[] }> {
  const sink = createUnpackSink(dest, info.storePath, writer);
  let n: { fileBytes: number; narBytes: number };
  try {
    n = await streamNar(cache, info, sink, signal);
  } catch (err) {
    // Background writes still running would race the caller's removal of `dest`.
    await sink.settle();
    throw err;
  }
  await sink.finish();
  return { ...n, files: sink.files };
}

/** Reads file contents to the end and keeps nothing: a NAR checked, not unpacked. */
const DISCARD: NarSink = {
  directory: () => Promise.resolve(),
  symlink: () => Promise.resolve(),
  async file(_path, _executable, _size, contents) {
    for await (const _ of contents);
  },
};

/**
 * Downloads `info`'s NAR and checks it exactly as fetchNarInto does (sizes, hashes, NAR structure) without
 * writing anything: `flotilla verify` of a Nix closure. Throws what fetchNarInto throws.
 */
export function checkNar(cache: NixCache, info: NarInfo, signal?: AbortSignal): Promise<{ fileBytes: number; narBytes: number }> {
  return streamNar(cache, info, DISCARD, signal);
}

async function streamNar(cache: NixCache, info: NarInfo, sink: NarSink, signal?: AbortSignal): Promise<{ fileBytes: number; narBytes: number }> {
  const path = info.storePath;
  const cap = fileCap(info);
  // Uncompressed, the file is the NAR: one hash serves FileHash and NarHash (sha256 is most of the CPU).
  const same = info.compression === 'none';
  const file = meter(cap, () => new SizeLimitError(`NAR file of ${path} is larger than ${cap} bytes (its FileSize or NarSize)`, { storePath: path, maxBytes: cap }), !same);
  const nar = meter(info.narSize, () => new SizeLimitError(`NAR of ${path} is larger than its NarSize ${info.narSize}`, { storePath: path, maxBytes: info.narSize }));
  const parse = (src: AsyncIterable<Buffer>): Promise<void> => parseNar(src, sink, path);
  let measured: { bytes: number; digest?: Buffer | undefined } | undefined;
  let read: { bytes: number; digest: Buffer } | undefined;
  try {
    const where = cache.narFilePath?.bind(cache);
    const local = same || where === undefined ? undefined : await openLocalNar(() => where(info), info, cap, signal);
    read = local === undefined ? await readPlainNar(cache, info, sink, signal) : undefined;
    const throughTool = local === undefined && read === undefined ? await readToolNar(cache, info, nar, parse, signal) : undefined;
    if (read !== undefined) {
      measured = read;
    } else if (throughTool !== undefined) {
      measured = throughTool;
    } else if (local === undefined) {
      const body = await cache.openNarFile(info, { maxBytes: cap, ...(signal ? { signal } : {}) });
      await pipeline(body, file, createDecompressor(info.compression), nar, parse, signal ? { signal } : {});
      measured = { bytes: file.bytes, digest: file.digest() };
    } else {
      local.file.catch(() => undefined); // awaited below, after a decompression that succeeded
      try {
        await pipeline(local.decompressed, nar, parse, signal ? { signal } : {});
      } catch (err) {
        local.cancel();
        throw err;
      }
      measured = await local.file;
    }
  } catch (err) {
    if (err instanceof SizeLimitError && !err.message.includes(path)) {
      throw new SizeLimitError(`NAR file of ${path}: ${err.message}`, { storePath: path, maxBytes: cap }, { cause: err });
    }
    if (err instanceof FlotillaError || (err as { name?: string }).name === 'AbortError') throw err;
    throw new IntegrityError(`NAR file of ${path} (${info.url}, ${info.compression}) does not decompress: ${(err as Error).message}`, { storePath: path }, { cause: err });
  }
  const bad = (why: string): never => {
    throw new IntegrityError(`NAR of ${path}: ${why}`, { storePath: path });
  };
  if (info.fileSize !== undefined && measured.bytes !== info.fileSize) bad(`the file has ${measured.bytes} bytes, FileSize says ${info.fileSize}`);
  const narDigest = read?.digest ?? nar.digest() ?? Buffer.alloc(0);
  const narBytes = read?.bytes ?? nar.bytes;
  const fileHash = formatSha256(measured.digest ?? narDigest);
  if (info.fileHash !== undefined && fileHash !== info.fileHash) bad(`FileHash is ${fileHash}, narinfo says ${info.fileHash}`);
  if (narBytes !== info.narSize) bad(`it has ${narBytes} bytes, NarSize says ${info.narSize} (truncated?)`);
  const narHash = formatSha256(narDigest);
  if (narHash !== info.narHash) bad(`its hash is ${narHash}, the signed NarHash is ${info.narHash}`);
  return { fileBytes: measured.bytes, narBytes };
}

/**
 * An uncompressed NAR read through the cache's reused read buffer (readNarFileInto: plain HTTP) into the
 * parser, hashed on the way: no stream, no buffer per read (docs/nix.md). Only when FileSize equals the
 * signed NarSize, so the bytes read are bounded by what the signature covers; undefined, with nothing
 * parsed, when that does not hold or the cache cannot (the stream path then reads the NAR and words any
 * error). Returns the bytes parsed and their sha256.
 */
async function readPlainNar(cache: NixCache, info: NarInfo, sink: NarSink, signal?: AbortSignal): Promise<{ bytes: number; digest: Buffer } | undefined> {
  const readInto = cache.readNarFileInto?.bind(cache);
  if (readInto === undefined || info.compression !== 'none' || info.fileSize !== info.narSize) return undefined;
  const hash = createHash('sha256');
  const handoff = createHandoff();
  let bytes = 0;
  let parsing: Promise<void> | undefined;
  // The parser's (or the sink's) own error, thrown as it is: the store would word it as its own.
  let failed: { err: unknown } | undefined;
  let how: 'done' | 'unsupported';
  try {
    how = await readInto(info, info.narSize, (view) => {
      if (parsing === undefined) {
        parsing = parseNar(handoff.chunks, sink, info.storePath);
        parsing.then(
          () => handoff.close(),
          (err: unknown) => {
            failed ??= { err };
            handoff.close(err);
          },
        );
      }
      bytes += view.length;
      hash.update(view);
      return handoff.push(view);
    }, signal ? { signal } : {});
  } catch (err) {
    // The parser's own failure comes back as the push's; a transport failure ends the parser first.
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
 * A compressed NAR (zstd, xz, bzip2) read through the cache's reused read buffer (readNarFileInto: plain
 * HTTP) straight into its system decompressor's stdin, each read's bytes hashed (FileHash) on the way and
 * the buffer reused only once the tool's pipe took them; the tool's output goes through `nar` (the
 * caller's cap and NarHash) into `parse`. Undefined, with nothing read, when there is no such reader, no
 * system tool, no FileSize to read exactly, or the response does not allow it (the stream path then reads
 * the NAR and words any error). Returns the compressed bytes read and their sha256.
 */
async function readToolNar(cache: NixCache, info: NarInfo, nar: Transform, parse: (src: AsyncIterable<Buffer>) => Promise<void>, signal?: AbortSignal): Promise<{ bytes: number; digest: Buffer } | undefined> {
  const readInto = cache.readNarFileInto?.bind(cache);
  const c = info.compression;
  const tool = c === 'zstd' || c === 'xz' || c === 'bzip2' ? systemDecompressor(c) : null;
  if (readInto === undefined || tool === null || info.fileSize === undefined) return undefined;
  const hash = createHash('sha256');
  let bytes = 0;
  let decoding: { tool: Duplex; done: Promise<void> } | undefined;
  // The read waiting on the tool's pipe, stopped by a failed decode (the tool, the cap or the parser),
  // whose error is thrown as it is: the store would word it as its own, and a write refused by the
  // stopped tool says nothing of why.
  let stop: ((err: unknown) => void) | undefined;
  let failed: { err: unknown } | undefined;
  const start = (): { tool: Duplex; done: Promise<void> } => {
    const d = toolStream(tool.file, tool.args);
    const done = pipeline(d, nar, parse);
    done.catch((err: unknown) => {
      failed ??= { err };
      stop?.(err);
    });
    return { tool: d, done };
  };
  let how: 'done' | 'unsupported';
  try {
    how = await readInto(info, info.fileSize, (view) => {
      const dec = (decoding ??= start());
      bytes += view.length;
      hash.update(view);
      return new Promise<void>((resolve, reject) => {
        stop = reject;
        // A refused write means the tool stopped: the decode's failure says why.
        dec.tool.write(view, (err) => {
          if (err) void dec.done.then(() => reject(err), reject);
          else resolve();
        });
      });
    }, signal ? { signal } : {});
  } catch (err) {
    // Taken before the tool is stopped, whose stop fails the decode too.
    const cause = failed?.err ?? err;
    decoding?.tool.destroy();
    await decoding?.done.catch(() => undefined);
    throw cause;
  }
  if (how === 'unsupported' || decoding === undefined) return undefined;
  decoding.tool.end();
  await decoding.done;
  return { bytes, digest: hash.digest() };
}
