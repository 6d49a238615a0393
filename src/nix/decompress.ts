import { createRequire } from 'node:module';
import { PassThrough, Transform, type Duplex, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { systemDecompressor } from './decompress-tool.js';
import { xzLaneReady, xzLaneStream } from './xz-lane.js';
import { zstdStream } from './zstd-stream.js';
import type { NarInfo, NixCompression } from './narinfo.js';

const require = createRequire(import.meta.url);

/**
 * Feeds `inner` (a decompressor that turns each written chunk into all of its output at once, as
 * lzma-native does) at most `max` bytes at a time, each once the one before is decoded, and relays its
 * output: what one write can expand to in memory is bounded by `max`, not by the size of a network read.
 */
function inSlices(inner: Transform, max: number): Transform {
  const out = new Transform({
    transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
      let at = 0;
      const next = (err?: Error | null): void => {
        if (err) return done(err);
        if (at >= chunk.length) return done();
        const piece = chunk.subarray(at, at + max);
        at += piece.length;
        inner.write(piece, next);
      };
      next();
    },
    flush(done: TransformCallback): void {
      inner.once('end', () => done());
      inner.end();
    },
    destroy(err, cb): void {
      // Done once `inner` closed: a pipeline whose reader stopped with an error then reports that error,
      // not the AbortError this stream is destroyed with (which, reported at once, came first).
      if (inner.closed) return cb(err);
      inner.once('close', () => cb(err));
      inner.destroy();
    },
  });
  inner.on('data', (d: Buffer) => out.push(d));
  inner.on('error', (err: Error) => out.destroy(err));
  return out;
}

/** The slice inSlices feeds lzma-native: xz expands up to ~7,000×, so at most ~28 MB of output per slice. */
const XZ_SLICE = 4096;

/**
 * unbzip2-stream is an old-style `through` stream that stream.pipeline reports as "Premature close" on a
 * large NAR; this Transform drives it by write/end and relays its data and errors.
 */
function fromLegacy(legacy: NodeJS.ReadWriteStream): Transform {
  const out = new Transform({
    transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
      legacy.write(chunk);
      done();
    },
    flush(done: TransformCallback): void {
      legacy.once('end', () => done());
      legacy.end();
    },
  });
  legacy.on('data', (d: Buffer) => out.push(d));
  legacy.on('error', (err: Error) => out.destroy(err));
  return out;
}

/** Where a decompressor comes from: the system tool when installed (default), or only the npm libraries. */
export type DecompressorSource = 'system' | 'library';

/**
 * The largest NAR file (its narinfo's FileSize) and NAR (NarSize) of zstd or xz decompressed in this
 * process rather than by the system tool. Each tool is a fork of this process: 9–23 ms of its thread at
 * ~100 MB of RSS (measured), and from a local cache a second one (`openssl`, the FileHash). A closure of
 * 301 small paths (`npm run bench -- nix --paths 301`) took 3.7 s from a zstd cache and 3.8 s from an xz
 * one, against `nix copy`'s 0.39 and 0.72 s; most paths of a real system are that small. A zstd file up to
 * this size is decoded whole by zstddec (zstd-stream.ts). Per byte the libraries are slower (zstddec
 * ~120 MB/s, fzstd ~60, the tool ~600), so a large NAR keeps the tool, and the NAR cap bounds what a
 * decompression bomb can make in memory before it is refused.
 */
export const IN_PROCESS_FILE_MAX = 256 * 1024;
export const IN_PROCESS_NAR_MAX = 8 * 1024 * 1024;

/**
 * 'library' for a zstd or xz NAR whose narinfo gives a FileSize and NarSize within the in-process limits
 * (the FileSize then also caps what is read), else 'system'.
 */
export function decompressorSourceFor(info: Pick<NarInfo, 'compression' | 'fileSize' | 'narSize'>): DecompressorSource {
  const small = info.fileSize !== undefined && info.fileSize <= IN_PROCESS_FILE_MAX && info.narSize <= IN_PROCESS_NAR_MAX;
  return small && (info.compression === 'zstd' || info.compression === 'xz') ? 'library' : 'system';
}

/**
 * A streaming decompressor of this process for a narinfo's Compression: for a small NAR (decompressorSourceFor
 * says 'library') or where the system tool is missing. The system's own `zstd -dc`, `xz -dc`, `bzip2 -dc`
 * (native speed, on another core) are run by fetch-nar.ts through tool-reader.ts, which reads their output
 * into reused buffers. Here: zstd through well-kept npm packages where Node's zlib has none (zstd-stream.ts:
 * zstddec, libzstd in WebAssembly, for a file up to IN_PROCESS_FILE_MAX, else fzstd, pure JS); xz through
 * the process's one `xz` once prepared (xz-lane.ts), else lzma-native (liblzma, prebuilt); bzip2 through
 * unbzip2-stream (pure JS). gzip is always Node's zlib. Its output is untrusted until the NAR hash
 * matches; the caller caps it and maps its errors. A library that hands out a chunk's whole output at
 * once is itself stopped past `maxOutput` bytes (zstd, the xz lane) or fed in slices (lzma-native), so
 * that no single read can expand without bound in memory.
 */
export function createDecompressor(compression: NixCompression, source: DecompressorSource = 'system', maxOutput = Number.MAX_SAFE_INTEGER): Transform | Duplex {
  switch (compression) {
    case 'none':
      return new PassThrough();
    case 'gzip':
      return zlib.createGunzip();
    case 'zstd': {
      const native = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
      // Gathered whole (for zstddec) only when its output is capped as a small NAR's: a decode hands out all
      // of it at once, whatever the reader takes (as the xz lane below).
      return native !== undefined ? native() : zstdStream(maxOutput, maxOutput <= IN_PROCESS_NAR_MAX ? IN_PROCESS_FILE_MAX : 0);
    }
    case 'xz': {
      // A small NAR (source 'library', its output capped at IN_PROCESS_NAR_MAX at most: the lane holds a
      // stream's output whatever its reader takes) through the process's one long-lived `xz` (xz-lane.ts)
      // once a fetch of several prepared it, not a fork of its own; else lzma-native, a slice at a time.
      const tool = source === 'library' && maxOutput <= IN_PROCESS_NAR_MAX && xzLaneReady() ? systemDecompressor('xz') : null;
      if (tool !== null) return xzLaneStream(tool, maxOutput, IN_PROCESS_FILE_MAX);
      const lzma = require('lzma-native') as { createDecompressor: () => Transform };
      return inSlices(lzma.createDecompressor(), XZ_SLICE);
    }
    case 'bzip2': {
      const unbzip2 = require('unbzip2-stream') as () => NodeJS.ReadWriteStream;
      return fromLegacy(unbzip2());
    }
  }
}
