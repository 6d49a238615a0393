import { createRequire } from 'node:module';
import { Transform, type TransformCallback } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { SizeLimitError } from '../errors/index.js';

// zstd decoded in this process, where Node's zlib has none (Node < 22.15) and the system tool is not
// used: a small NAR (decompress.ts) or a machine without `zstd`. Once loaded (loadZstdWasm, which a fetch
// of several small zstd NARs calls before they start), a short stream (decompress.ts's in-process NAR
// files, at most 256 KiB) is decoded at its end by zstddec, libzstd built to WebAssembly: 301 small NARs
// took 80–100 ms there against 340–370 ms in fzstd (pure JS, which also allocates a 2 MiB window per
// frame, so its collections cost as much again). A longer stream, or any before the load, goes through
// fzstd as it arrives, so that nothing holds a large NAR file in memory.

const require = createRequire(import.meta.url);

/**
 * Outputs in a row without a byte that mean the stream is broken: zstddec does not check libzstd's return
 * codes, so on corrupt input it yields empty output forever. A valid stream makes progress on every call
 * but at a frame's end.
 */
const MAX_EMPTY = 64;

interface FzstdDecompress {
  ondata: (chunk: Uint8Array, final: boolean) => void;
  push(chunk: Uint8Array, final?: boolean): void;
}

interface WasmDecoder {
  init(): Promise<void>;
  decodeStreaming(arrays: Iterable<Uint8Array>): Generator<Uint8Array>;
}

let wasm: Promise<WasmDecoder | undefined> | undefined;
/** zstddec's decoder once loaded (undefined before, and when it could not be). */
let ready: WasmDecoder | undefined;
/**
 * Set when a decode was stopped before its end (a cap, a broken stream): zstddec frees its context only
 * at the end of a decode, so what it held stays in the module's memory; fzstd decodes from then on, and
 * that memory is lost once per process at most.
 */
let spoiled = false;

/** How many streams each decoder finished in this process (a fetch's tests see which one ran). */
const used = { zstddec: 0, fzstd: 0 };

/** How many zstd streams zstddec and fzstd decoded in this process so far. */
export function zstdDecoderUse(): { zstddec: number; fzstd: number } {
  return { ...used };
}

/**
 * zstddec's decoder, instantiated once per process; undefined when it cannot be (fzstd decodes then).
 * zstddec instantiates its WebAssembly through `fetch` of a data: URL wherever `fetch` exists, which on
 * Node loads undici (~50 ms); `fetch` is hidden for that one synchronous call so that it compiles the
 * bytes directly (~7 ms).
 */
function wasmDecoder(): Promise<WasmDecoder | undefined> {
  wasm ??= (async (): Promise<WasmDecoder | undefined> => {
    try {
      const { ZSTDDecoder } = (await importEsmFile(require.resolve('zstddec/stream'))) as { ZSTDDecoder: new () => WasmDecoder };
      const decoder = new ZSTDDecoder();
      const fetchProp = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
      let loaded: Promise<void>;
      if (fetchProp?.configurable === true) {
        Object.defineProperty(globalThis, 'fetch', { value: undefined, configurable: true, writable: true });
        try {
          loaded = decoder.init();
        } finally {
          Object.defineProperty(globalThis, 'fetch', fetchProp);
        }
      } else loaded = decoder.init();
      await loaded;
      ready = decoder;
      return decoder;
    } catch {
      return undefined;
    }
  })();
  return wasm;
}

/** `import()` of the ES module at `path`, through esm-import.cjs (beside this module, or its bundle). */
const importEsmFile = (path: string): Promise<unknown> => (require('./esm-import.cjs') as (url: string) => Promise<unknown>)(pathToFileURL(path).href);

/**
 * Loads zstddec (an ES module import and the WebAssembly's compilation, ~14 ms idle) and says whether it
 * loaded; the small streams from then on go through it.
 */
export function loadZstdWasm(): Promise<boolean> {
  return wasmDecoder().then((d) => d !== undefined);
}

/** fzstd's decoder: chunks in, `emit` out; throws SizeLimitError from `push` once past `maxOutput`. */
function fzstdDecoder(maxOutput: number, emit: (b: Buffer) => void): FzstdDecompress {
  const { Decompress } = require('fzstd') as { Decompress: new () => FzstdDecompress };
  const d = new Decompress();
  let total = 0;
  // fzstd hands out every block of a pushed chunk at once, whatever the reader takes, so a stream that
  // expands past `maxOutput` is stopped inside the push: a few KiB of zstd can say gigabytes.
  d.ondata = (chunk) => {
    total += chunk.length;
    if (total > maxOutput) throw new SizeLimitError(`decompresses to more than ${maxOutput} bytes`, { maxBytes: maxOutput });
    if (chunk.length > 0) emit(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
  };
  return d;
}

/**
 * Decodes `input` whole through `decoder`, handing each piece (at most 128 KiB, libzstd's output buffer)
 * to `emit`. Throws SizeLimitError past `maxOutput`, and an Error on a broken or truncated stream.
 */
function decodeWhole(decoder: WasmDecoder, input: Buffer, maxOutput: number, emit: (b: Buffer) => void): void {
  // Each throw of ours leaves the generator before its clean-up (spoiled); its own ("Incomplete stream")
  // comes after it.
  const stop = (err: Error): never => {
    spoiled = true;
    throw err;
  };
  let total = 0;
  let empty = 0;
  for (const piece of decoder.decodeStreaming([input])) {
    if (piece.length === 0) {
      if (++empty > MAX_EMPTY) stop(new Error('not a valid zstd stream: the decoder makes no progress'));
      continue;
    }
    empty = 0;
    total += piece.length;
    if (total > maxOutput) stop(new SizeLimitError(`decompresses to more than ${maxOutput} bytes`, { maxBytes: maxOutput }));
    emit(Buffer.from(piece.buffer, piece.byteOffset, piece.length));
  }
}

/** Whether decodeZstdInMemory decodes now (zstddec loaded, no decode stopped midway in this process). */
export function zstdInMemoryReady(): boolean {
  return ready !== undefined && !spoiled;
}

/**
 * `input`, a whole zstd file of at most IN_PROCESS_FILE_MAX bytes (decompress.ts), decoded at once by
 * zstddec into pieces of at most 128 KiB (copies, not views of its memory), with no stream around it;
 * undefined when zstddec is not loaded or a decode was stopped midway in this process (the caller then
 * streams it through zstdStream). Throws SizeLimitError past `maxOutput`, and an Error on a broken stream.
 */
export function decodeZstdInMemory(input: Buffer, maxOutput: number): Buffer[] | undefined {
  const decoder = ready;
  if (decoder === undefined || spoiled) return undefined;
  const pieces: Buffer[] = [];
  decodeWhole(decoder, input, maxOutput, (b) => pieces.push(b));
  used.zstddec++;
  return pieces;
}

/**
 * A zstd decompressor: a stream of at most `wholeUpTo` bytes decoded at its end by zstddec (when it
 * can be loaded and no decode was stopped midway in this process), a longer one by fzstd as it comes.
 * Either way the output is stopped past `maxOutput` with a SizeLimitError, so no decompression bomb grows
 * in memory past it, and a broken stream fails rather than spins.
 */
export function zstdStream(maxOutput: number, wholeUpTo: number): Transform {
  // Chunks written to a stream are its own (the writer does not reuse them), so they are kept, not copied.
  let held: Buffer[] = [];
  let heldBytes = 0;
  let fz: FzstdDecompress | undefined;
  const out: Transform = new Transform({
    transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
      try {
        if (fz === undefined && !spoiled && heldBytes + chunk.length <= wholeUpTo) {
          held.push(chunk);
          heldBytes += chunk.length;
          return done();
        }
        if (fz === undefined) {
          fz = fzstdDecoder(maxOutput, (b) => out.push(b));
          for (const h of held) fz.push(h);
          held = [];
        }
        fz.push(chunk);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback): void {
      const rest = (): void => {
        fz ??= fzstdDecoder(maxOutput, (b) => out.push(b));
        for (const h of held) fz.push(h);
        fz.push(new Uint8Array(0), true);
        used.fzstd++;
      };
      try {
        const decoder = ready;
        if (fz === undefined && !spoiled && decoder !== undefined) {
          decodeWhole(decoder, held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held, heldBytes), maxOutput, (b) => out.push(b));
          used.zstddec++;
        } else rest();
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
  return out;
}
