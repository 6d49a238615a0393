import { createRequire } from 'node:module';
import { PassThrough, Transform, type Duplex, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { systemDecompressor, toolStream } from './decompress-tool.js';
import type { NixCompression } from './narinfo.js';

const require = createRequire(import.meta.url);

interface FzstdDecompress {
  ondata: (chunk: Uint8Array, final: boolean) => void;
  push(chunk: Uint8Array, final?: boolean): void;
}

/** zstd through fzstd (pure JS, streaming) where this Node has no zlib.createZstdDecompress (Node < 22.15). */
function fzstdStream(): Transform {
  const { Decompress } = require('fzstd') as { Decompress: new () => FzstdDecompress };
  const d = new Decompress();
  const out = new Transform({
    transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
      try {
        d.push(chunk);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback): void {
      try {
        d.push(new Uint8Array(0), true);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
  d.ondata = (chunk) => {
    if (chunk.length > 0) out.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
  };
  return out;
}

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
 * A streaming decompressor for a narinfo's Compression. zstd, xz and bzip2 go through the system's own
 * `zstd -dc`, `xz -dc`, `bzip2 -dc` (native speed, on another core) when `source` is 'system' and the tool is
 * on PATH; otherwise through well-kept npm packages: fzstd (pure JS) for zstd where Node's zlib has none,
 * lzma-native (liblzma, prebuilt) for xz, unbzip2-stream (pure JS) for bzip2. gzip is always Node's zlib.
 * Its output is untrusted until the NAR hash matches; the caller caps it and maps its errors.
 */
export function createDecompressor(compression: NixCompression, source: DecompressorSource = 'system'): Transform | Duplex {
  if (source === 'system' && (compression === 'zstd' || compression === 'xz' || compression === 'bzip2')) {
    const tool = systemDecompressor(compression);
    if (tool !== null) return toolStream(tool.file, tool.args);
  }
  switch (compression) {
    case 'none':
      return new PassThrough();
    case 'gzip':
      return zlib.createGunzip();
    case 'zstd': {
      const native = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
      return native !== undefined ? native() : fzstdStream();
    }
    case 'xz': {
      const lzma = require('lzma-native') as { createDecompressor: () => Transform };
      return lzma.createDecompressor();
    }
    case 'bzip2': {
      const unbzip2 = require('unbzip2-stream') as () => NodeJS.ReadWriteStream;
      return fromLegacy(unbzip2());
    }
  }
}
