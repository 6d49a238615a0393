import { createHash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DiskFullError, FlotillaError, IntegrityError, SizeLimitError } from '../errors/index.js';
import { isDiskFull } from '../errors/system-error.js';
import type { NixCache } from './cache.js';
import { createDecompressor, decompressorSourceFor, IN_PROCESS_FILE_MAX, type DecompressorSource } from './decompress.js';
import { decodeToolNar, drained, parseNarInMemory, parsePlainNar, viaCacheBuffer, viaLocalFile, viaStream, type Measured } from './buffered-nar.js';
import { formatSha256 } from './hash.js';
import { openLocalNar, readLocalSmallNar } from './local-nar.js';
import { narTooBig, type NarInfo } from './narinfo.js';
import { parseNar, type NarSink } from './nar-parser.js';
import { createUnpackSink, type NarFileWriter } from './nar-unpack.js';
import { decodeZstdInMemory, zstdInMemoryReady } from './zstd-stream.js';

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

/**
 * Whether a NAR not in a local cache is read into one buffer and decoded from memory (fetch-nar's small
 * path): uncompressed up to IN_PROCESS_FILE_MAX, or a small zstd one (decompressorSourceFor) once zstddec
 * decodes in memory. Over HTTP a closure of 301 such paths spent more on each NAR's five piped streams
 * (and the pipeline's AbortSignal and DOMException) than on the request.
 */
function readsWhole(info: NarInfo, source: DecompressorSource): boolean {
  if (info.compression === 'none') return info.narSize <= IN_PROCESS_FILE_MAX && (info.fileSize ?? info.narSize) === info.narSize;
  return info.compression === 'zstd' && source === 'library' && zstdInMemoryReady();
}

/** The most compressed bytes accepted for a NAR: FileSize when given, else the NAR size plus framing slack. */
function fileCap(info: NarInfo): number {
  return info.fileSize ?? info.narSize + Math.ceil(info.narSize / 16) + 1024 * 1024;
}

/** Options of fetchNarInto. */
export interface FetchNarOptions {
  signal?: AbortSignal;
  /** Writes the small files off this thread (createUnpackSink). */
  writer?: NarFileWriter;
  /**
   * Called once, when the NAR's first entry is parsed: its bytes flow, whatever reads or decompresses them
   * (a file, a request, a system tool) is set going. Not called for a NAR that fails before.
   */
  onFlowing?: () => void;
}

/** `sink`, calling `tell` before the first entry it is given (the NAR's root, whatever its type). */
function tellingFirst(sink: NarSink, tell: () => void): NarSink {
  let told = false;
  const first = (): void => {
    if (told) return;
    told = true;
    tell();
  };
  return {
    directory: (path) => (first(), sink.directory(path)),
    file: (path, executable, size, contents) => (first(), sink.file(path, executable, size, contents)),
    symlink: (path, target) => (first(), sink.symlink(path, target)),
  };
}

/**
 * Streams `info`'s NAR from `cache` into `dest` (a fresh path), decompressing, hashing and unpacking in one
 * pass, then checks FileSize, FileHash, NarSize and NarHash. Throws IntegrityError or SizeLimitError naming
 * the store path on any mismatch, a truncated or oversized stream, or a malformed NAR, DiskFullError naming
 * it when the disk fills; the caller removes `dest` then. Returns the compressed and NAR byte counts and the files written (for a
 * fallback fsync).
 */
export async function fetchNarInto(cache: NixCache, info: NarInfo, dest: string, options: FetchNarOptions = {}): Promise<{ fileBytes: number; narBytes: number; files: string[] }> {
  const { signal, writer, onFlowing } = options;
  const sink = createUnpackSink(dest, info.storePath, writer);
  let n: { fileBytes: number; narBytes: number };
  try {
    n = await streamNar(cache, info, onFlowing === undefined ? sink : tellingFirst(sink, onFlowing), signal);
    await sink.finish();
  } catch (err) {
    // Background writes still running would race the caller's removal of `dest`.
    await sink.settle();
    if (!isDiskFull(err)) throw err;
    // This machine's fault, not the cache's: a DiskFullError stalls an agent with that said, where an
    // IntegrityError would be retried, fetching the NAR again into the same full disk.
    const errno = (err as NodeJS.ErrnoException).code;
    throw new DiskFullError(`disk full while unpacking ${info.storePath}: ${(err as Error).message}`, { storePath: info.storePath, errno }, { cause: err });
  }
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
  const nar = meter(info.narSize, () => narTooBig(info));
  const parse = (src: AsyncIterable<Buffer>): Promise<void> => parseNar(src, sink, path);
  let measured: { bytes: number; digest?: Buffer | undefined } | undefined;
  // Uncompressed and read through a reused buffer (buffered-nar.ts): the file is the NAR.
  let plain: Measured | undefined;
  // The NAR as hashed and counted through reused buffers (buffered-nar.ts), where it was: else `nar` did.
  let narRead: Measured | undefined;
  // A small compressed NAR is decompressed here (decompress.ts): no tool forked for it, nor a checksum tool.
  const source = decompressorSourceFor(info);
  try {
    const where = cache.narFilePath?.bind(cache);
    const local = same || where === undefined || source === 'library' ? undefined : await openLocalNar(() => where(info), info, cap, signal);
    // Read in place of the stream where it can be: an uncompressed NAR bounded by the signed NarSize (from
    // a local cache file or over plain HTTP), a compressed one of known FileSize over plain HTTP.
    if (local === undefined && same && (info.fileSize ?? info.narSize) === info.narSize) {
      let at: string | undefined;
      try {
        at = where?.(info);
      } catch {
        at = undefined; // a URL the directory store refuses: the stream path words the error
      }
      const via = at !== undefined ? viaLocalFile(at, info, info.narSize, signal) : viaCacheBuffer(cache, info, info.narSize, signal);
      plain = via === undefined ? undefined : await parsePlainNar(info, sink, via);
    }
    const viaHttp = local === undefined && !same && source === 'system' && info.fileSize !== undefined ? viaCacheBuffer(cache, info, info.fileSize, signal) : undefined;
    const throughTool = viaHttp === undefined ? undefined : await decodeToolNar(info, sink, viaHttp, signal);
    if (plain !== undefined) {
      measured = plain;
      narRead = plain;
    } else if (throughTool !== undefined) {
      measured = throughTool.file;
      narRead = throughTool.nar;
    } else if (local === undefined) {
      // A small NAR, decoded whole here anyway, is read at once rather than streamed: from a local cache's
      // file, else (uncompressed, or zstd once zstddec is loaded) into one buffer from the cache.
      const onDisk = source === 'library' && where !== undefined ? readLocalSmallNar(() => where(info), info, cap) : undefined;
      const small = onDisk ?? (readsWhole(info, source) ? await cache.readNarFileBytes(info, { maxBytes: cap, ...(signal ? { signal } : {}) }) : undefined);
      // Then decoded (zstd by zstddec) and parsed from memory: no stream between it and the parser.
      const whole = small === undefined ? undefined : same ? [small] : info.compression === 'zstd' ? decodeZstdInMemory(small, info.narSize) : undefined;
      if (small !== undefined && whole !== undefined) {
        narRead = await parseNarInMemory(info, sink, whole);
        measured = same ? narRead : { bytes: small.length, digest: createHash('sha256').update(small).digest() };
      } else {
        const body = small !== undefined ? Readable.from([small]) : await cache.openNarFile(info, { maxBytes: cap, ...(signal ? { signal } : {}) });
        // Through a system tool (S3, HTTPS): its output into reused buffers, as above, not a stream's fresh ones.
        const decoded = same || source !== 'system' ? undefined : await decodeToolNar(info, sink, viaStream(body), signal);
        if (decoded !== undefined) {
          measured = decoded.file;
          narRead = decoded.nar;
        } else {
          await pipeline(body, file, createDecompressor(info.compression, source, info.narSize), nar, parse, signal ? { signal } : {});
          measured = { bytes: file.bytes, digest: file.digest() };
        }
      }
    } else {
      local.file.catch(() => undefined); // awaited below, after a decompression that succeeded
      try {
        narRead = await parsePlainNar(info, sink, drained(local.decompressed));
      } catch (err) {
        local.cancel();
        throw err;
      }
      measured = await local.file;
    }
  } catch (err) {
    if (isDiskFull(err)) throw err; // worded by fetchNarInto, which also sees the writes that end later
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
  const narDigest = narRead?.digest ?? nar.digest() ?? Buffer.alloc(0);
  const narBytes = narRead?.bytes ?? nar.bytes;
  const fileHash = formatSha256(measured.digest ?? narDigest);
  if (info.fileHash !== undefined && fileHash !== info.fileHash) bad(`FileHash is ${fileHash}, narinfo says ${info.fileHash}`);
  if (narBytes !== info.narSize) bad(`it has ${narBytes} bytes, NarSize says ${info.narSize} (truncated?)`);
  const narHash = formatSha256(narDigest);
  if (narHash !== info.narHash) bad(`its hash is ${narHash}, the signed NarHash is ${info.narHash}`);
  return { fileBytes: measured.bytes, narBytes };
}
