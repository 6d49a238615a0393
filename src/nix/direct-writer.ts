import { close, constants, open, write } from 'node:fs';
import { directWritesNow } from '../util/direct-writes.js';
import { pageAlignedBuffer } from '../util/page-aligned.js';

// Why a large file may be written with O_DIRECT (when util/direct-writes.ts says so: by default, once this
// process found the page cache slow to fill): its bytes must reach the disk before the closure's paths are
// renamed into place anyway (the flush before the renames), and through the page cache they are first
// copied into freshly allocated cache pages, then written back. On this project's VMs a fresh page costs a
// fault into the host (free page reporting, docs/performance.md), and 50 MB took 84–116 ms to write plus
// 27–29 ms to flush; straight to the device, 37–40 ms plus 4–6 ms (docs/nix.md). Only where the kernel
// allows it: a filesystem that refuses O_DIRECT (at open, or at the first write) gets the usual writes.

/** O_DIRECT where the platform has it (Linux); undefined elsewhere, and no direct path is tried. */
const O_DIRECT: number | undefined = constants.O_DIRECT;
const { O_WRONLY, O_NOFOLLOW } = constants;
/** Direct writes must start, end and sit in memory on a block boundary; 4 KiB covers 512-byte and 4 KiB devices. */
const ALIGN = 4096;
/** Bytes per direct write. */
export const DIRECT_SLOT = 1 << 20;
/**
 * `count` buffers of DIRECT_SLOT bytes, each starting on a page boundary (util/page-aligned.ts). Were that
 * ever not so, the first direct write fails with EINVAL and the writer falls back to ordinary writes.
 */
export function alignedSlots(count: number): Buffer[] {
  const all = pageAlignedBuffer(count * DIRECT_SLOT);
  return Array.from({ length: count }, (_, i) => all.subarray(i * DIRECT_SLOT, (i + 1) * DIRECT_SLOT));
}

/**
 * A second descriptor for writing `path` (a file this process just created exclusively, under a directory
 * it made) with O_DIRECT; undefined unless direct writes are chosen now (util/direct-writes.ts),
 * where the platform or filesystem refuses it, or on any other error: the caller then writes through its own
 * descriptor, which is always correct.
 */
export function openDirect(path: string): Promise<number | undefined> {
  if (O_DIRECT === undefined || !directWritesNow()) return Promise.resolve(undefined);
  return new Promise((resolve) => open(path, O_WRONLY | O_NOFOLLOW | O_DIRECT, (err, fd) => resolve(err ? undefined : fd)));
}

/** Writes all of `buf` to `fd` at `position`, retrying short writes. */
function writeAt(fd: number, buf: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done === buf.length) return resolve();
      write(fd, buf, done, buf.length - done, position + done, (err, n) => {
        if (err) return reject(err);
        // A regular file never takes 0 bytes of a nonempty write without an error; never spin on one that does.
        if (n === 0) return reject(new Error(`write on fd ${fd} wrote nothing`));
        step(done + n);
      });
    };
    step(0);
  });
}

export interface DirectWriter {
  /**
   * Queues `chunk`'s bytes (copied: the caller may reuse it). Returns a promise only when the caller must
   * wait: every slot is still being written. Rejects with an earlier write's error.
   */
  push(chunk: Buffer): Promise<void> | undefined;
  /** After the last push: writes what is left, closes the direct descriptor, resolves to the bytes written. */
  end(): Promise<{ written: number; direct: boolean }>;
  /** After a failure elsewhere: waits for the writes in flight and closes the direct descriptor. */
  abort(): Promise<void>;
}

/**
 * Writes a file front to back through `slots` (alignedSlots): each full slot is one direct write on
 * `directFd`, one after another, while the next slot fills, so the writes run at most `slots.length - 1`
 * slots behind the caller. The last partial block goes through `fd` (the file's ordinary descriptor), which
 * stays the caller's to finish and close. A direct write refused with EINVAL (alignment rules stricter than
 * 4 KiB) is done again through `fd`, and so is every write after it. `start` (a multiple of 4 KiB): where
 * the first byte goes, the file's bytes before it written already.
 */
export function createDirectWriter(fd: number, directFd: number, slots: Buffer[], start = 0): DirectWriter {
  let direct = true;
  let chain: Promise<void> = Promise.resolve();
  /** Per slot, its write while in flight (or failed); undefined once written. */
  const pending: (Promise<void> | undefined)[] = slots.map(() => undefined);
  let cur = 0;
  let fill = 0;
  let position = start;

  const writeBlocks = async (buf: Buffer, at: number): Promise<void> => {
    if (direct) {
      try {
        return await writeAt(directFd, buf, at);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
        direct = false;
      }
    }
    await writeAt(fd, buf, at);
  };

  /** Chains `job` after the writes before it; once one fails, the ones after it never run. */
  const enqueue = (job: () => Promise<void>): Promise<void> => {
    chain = chain.then(job);
    chain.catch(() => undefined); // surfaced through push, end or abort; never unhandled
    return chain;
  };

  const closeDirect = (): Promise<void> => new Promise((resolve) => close(directFd, () => resolve()));

  const fillFrom = (chunk: Buffer, from: number): Promise<void> | undefined => {
    for (let off = from; off < chunk.length; ) {
      const wait = fill === 0 ? pending[cur] : undefined;
      if (wait !== undefined) return wait.then(() => fillFrom(chunk, off));
      const i = cur;
      const slot = slots[i] as Buffer;
      const n = chunk.copy(slot, fill, off);
      fill += n;
      off += n;
      if (fill < DIRECT_SLOT) continue;
      const at = position;
      const write = enqueue(() => writeBlocks(slot, at));
      pending[i] = write;
      // Registered before any waiter's, so a waiter finds the slot free.
      write.then(() => void (pending[i] === write && (pending[i] = undefined)), () => undefined);
      position += DIRECT_SLOT;
      fill = 0;
      cur = (cur + 1) % slots.length;
    }
    return undefined;
  };

  return {
    push(chunk: Buffer): Promise<void> | undefined {
      return fillFrom(chunk, 0);
    },
    async end(): Promise<{ written: number; direct: boolean }> {
      const slot = slots[cur] as Buffer;
      const [at, len] = [position, fill];
      const head = len - (len % ALIGN);
      const last = enqueue(async () => {
        if (head > 0) await writeBlocks(slot.subarray(0, head), at);
        if (head < len) await writeAt(fd, slot.subarray(head, len), at + head);
      });
      try {
        await last;
      } finally {
        await closeDirect();
      }
      return { written: at + len, direct };
    },
    async abort(): Promise<void> {
      await chain.catch(() => undefined);
      await closeDirect();
    },
  };
}
