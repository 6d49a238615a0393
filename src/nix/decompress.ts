import { createRequire } from 'node:module';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
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
 * A streaming decompressor for a narinfo's Compression: node's zlib for gzip (and zstd where Node has it),
 * well-kept npm packages for the rest: lzma-native (liblzma, prebuilt) for xz, fzstd (pure JS) for zstd,
 * unbzip2-stream (pure JS) for bzip2. Its output is untrusted until the NAR hash matches; the caller caps it.
 */
export function createDecompressor(compression: NixCompression): Transform {
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
      const unbzip2 = require('unbzip2-stream') as () => Transform;
      return unbzip2();
    }
  }
}
