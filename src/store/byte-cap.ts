import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { SizeLimitError } from '../errors/index.js';

/**
 * A pass-through stream that fails with SizeLimitError as soon as more than `maxBytes` bytes have passed.
 * Every backend puts it on its read path: Content-Length and file sizes are hints, the bytes are the truth.
 */
export function capBytes(maxBytes: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
      seen += chunk.length;
      if (seen > maxBytes) {
        done(new SizeLimitError(`${what} is larger than the limit of ${maxBytes} bytes`, { what, maxBytes }));
        return;
      }
      done(null, chunk);
    },
  });
}

/**
 * Reads a whole stream into memory, failing with SizeLimitError past `maxBytes` (the source is destroyed).
 * Stream errors are rethrown unchanged.
 */
export async function readCapped(stream: Readable, maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      total += buf.length;
      if (total > maxBytes) {
        throw new SizeLimitError(`${what} is larger than the limit of ${maxBytes} bytes`, { what, maxBytes });
      }
      chunks.push(buf);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks, total);
}

/**
 * Wraps a response body for the caller: caps it at `maxBytes` (when given), maps any error of the source
 * through `mapError` (so a socket reset surfaces as a FlotillaError), and destroys the source when the
 * caller destroys the result.
 */
export function guardBody(
  source: Readable,
  what: string,
  maxBytes: number | undefined,
  mapError: (err: unknown) => Error,
): Readable {
  const out = maxBytes === undefined ? new Transform({ transform: (c, _e, done) => done(null, c) }) : capBytes(maxBytes, what);
  source.on('error', (err) => out.destroy(mapError(err)));
  out.on('close', () => {
    if (!source.destroyed) source.destroy();
  });
  source.pipe(out);
  return out;
}
