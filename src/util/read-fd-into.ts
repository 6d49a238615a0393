import { read } from 'node:fs';

/** Bytes per read: large enough that a 150 MB file is a few hundred reads. */
const READ_BYTES = 512 * 1024;

const readAt = (fd: number, buf: Buffer, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) => read(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n))));

/**
 * Reads the first `size` bytes of the open file `fd` into two buffers used in turn, handing each read to
 * `consume` as a view and reading the next into the other buffer meanwhile; a buffer is read into again
 * only once `consume` is done with it (at once when it returns undefined, else once its promise settled).
 * Resolves once every byte was consumed. Rejects with `short(got)` when the file ends before `size`
 * bytes, with what `consume` throws or rejects with, with a read's error, or with the signal's reason.
 */
export async function readFdInto(fd: number, size: number, consume: (view: Buffer) => Promise<void> | undefined, short: (got: number) => Error, signal?: AbortSignal): Promise<void> {
  const bufs = [Buffer.allocUnsafeSlow(Math.min(READ_BYTES, size)), Buffer.allocUnsafeSlow(Math.min(READ_BYTES, size))];
  let held: Promise<void> = Promise.resolve();
  let pos = 0;
  for (let i = 0; pos < size; i ^= 1) {
    signal?.throwIfAborted();
    const buf = bufs[i] as Buffer;
    const n = await readAt(fd, buf, Math.min(buf.length, size - pos), pos);
    if (n === 0) throw short(pos);
    pos += n;
    await held;
    // Undefined: done with the view already.
    held = consume(buf.subarray(0, n)) ?? Promise.resolve();
    // Awaited at the next turn or the end; a rejection while the next read runs is not unhandled.
    held.catch(() => undefined);
  }
  await held;
}
