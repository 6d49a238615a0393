import { read } from 'node:fs';

/** Bytes per read: large enough that a 150 MB file is a few hundred reads. */
const READ_BYTES = 512 * 1024;

const readAt = (fd: number, buf: Buffer, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) => read(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n))));

/**
 * Reads the first `size` bytes of the open file `fd` into two buffers used in turn, handing each read to
 * `consume` as a view while the next read runs into the other buffer; a buffer is read into again only
 * once `consume` is done with it (at once when it returns undefined, else once its promise settled).
 * Resolves once every byte was consumed, and never with a read still in flight (the caller closes `fd`).
 * Rejects with `short(got)` when the file ends before `size` bytes, with what `consume` throws or rejects
 * with, with a read's error, or with the signal's reason.
 *
 * Why the next read starts before `consume` is called: most consumers are synchronous (hash, parse, copy),
 * and a read asked for only after them left this thread idle for each read's round trip through libuv's
 * pool, ~12 ms of a 50 MB NAR (docs/nix.md, session 33).
 */
export async function readFdInto(fd: number, size: number, consume: (view: Buffer) => Promise<void> | undefined, short: (got: number) => Error, signal?: AbortSignal): Promise<void> {
  const bufs = [Buffer.allocUnsafeSlow(Math.min(READ_BYTES, size)), Buffer.allocUnsafeSlow(Math.min(READ_BYTES, size))];
  let held: Promise<void> = Promise.resolve();
  let pos = 0;
  // The read in flight, into bufs[i].
  let reading: Promise<number> | undefined = size > 0 ? readAt(fd, bufs[0] as Buffer, Math.min(READ_BYTES, size), 0) : undefined;
  try {
    for (let i = 0; pos < size; i ^= 1) {
      signal?.throwIfAborted();
      const buf = bufs[i] as Buffer;
      const n = await (reading as Promise<number>);
      reading = undefined;
      if (n === 0) throw short(pos);
      pos += n;
      // The other buffer's last view must be let go before it is read into again.
      await held;
      const other = bufs[i ^ 1] as Buffer;
      if (pos < size) reading = readAt(fd, other, Math.min(other.length, size - pos), pos);
      // Undefined: done with the view already.
      held = consume(buf.subarray(0, n)) ?? Promise.resolve();
      // Awaited at the next turn or the end; a rejection while the next read runs is not unhandled.
      held.catch(() => undefined);
    }
    await held;
  } finally {
    await reading?.catch(() => undefined);
  }
}
