import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import type { Readable } from 'node:stream';

/** What `writeTempFile` wrote: the sha256 hex of the bytes and the file's stamp for the etag sidecar. */
export interface WrittenFile {
  etag: string;
  stat: BigIntStats;
}

/**
 * Writes `body` to the new file `tmp` (O_EXCL), hashing on the way, then fsyncs it. The caller renames or
 * links it into place and removes it on failure. A stream body is consumed with backpressure (one write
 * per chunk); an aborted `signal` or a failing source rejects and destroys the source.
 */
export async function writeTempFile(tmp: string, body: Buffer | Readable, signal?: AbortSignal): Promise<WrittenFile> {
  const hash = createHash('sha256');
  // Read-only from birth: the store never changes a file in place (every write is a new file renamed or
  // linked into place), and a fetch on this filesystem may hard-link an object it owns only when it is.
  const fh = await open(tmp, 'wx', 0o444);
  try {
    if (Buffer.isBuffer(body)) {
      signal?.throwIfAborted();
      hash.update(body);
      await fh.writeFile(body);
    } else {
      try {
        for await (const chunk of body) {
          signal?.throwIfAborted();
          const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
          hash.update(buf);
          let off = 0;
          while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
        }
      } catch (err) {
        body.destroy();
        throw err;
      }
    }
    await fh.sync();
    return { etag: hash.digest('hex'), stat: await fh.stat({ bigint: true }) };
  } finally {
    await fh.close();
  }
}
