import { close, constants, open, write } from 'node:fs';
import { rm } from 'node:fs/promises';
import { throwIfFailed, type FsOpRunner } from './fs-op-runner.js';
import type { FsOp } from './fs-ops.js';
import { TEMP_MODE, writeTemps } from './write-temps.js';

/** How a fetch creates the files of objects that arrive over the network (mode TEMP_MODE). */
export interface NewFiles {
  /** Creates each file with its bytes, never over an existing name; on any failure removes them all and throws. */
  write(items: ReadonlyArray<{ tmp: string; data: Uint8Array }>): Promise<void>;
  /**
   * Writes `data` at `pos` of `path`, creating it (exclusively) when `pos` is 0. A file written in pieces
   * sends each piece once the one before it is done.
   */
  writeAt(path: string, data: Uint8Array, pos: number): Promise<void>;
  /** The bytes are read on another thread: callers keep them in shared memory, so none are copied. */
  readonly shared: boolean;
}

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;

/** writeAt through libuv's pool with callbacks: open, the writes, close. */
function writeAtByCallbacks(path: string, data: Uint8Array, pos: number): Promise<void> {
  return new Promise((resolve, reject) => {
    open(path, O_WRONLY | O_NOFOLLOW | (pos === 0 ? O_CREAT | O_EXCL : 0), TEMP_MODE, (err, fd) => {
      if (err) return reject(err);
      const finish = (failed: Error | null): void =>
        close(fd, (closeErr) => {
          const e = failed ?? closeErr;
          if (e) reject(e);
          else resolve();
        });
      const next = (done: number): void => {
        if (done === data.length) return finish(null);
        write(fd, data, done, data.length - done, pos + done, (writeErr, n) => {
          if (writeErr) return finish(writeErr);
          if (n === 0) return finish(new Error(`write to ${path} wrote nothing`));
          next(done + n);
        });
      };
      next(0);
    });
  });
}

/**
 * New files through `fsOps` when it has worker threads: a batch per message (each hand-off to another
 * thread costs tens of microseconds of the main thread on this VM, a file's open, write and close three of
 * them through libuv's pool), reading the bytes from shared memory. Without threads, a `network` fetch
 * goes through libuv's pool, as creating a file on the main thread would stall every download in flight;
 * a local one runs the steps synchronously (a few microseconds each, no downloads to stall).
 */
export function newFilesOn(fsOps: FsOpRunner, network: boolean): NewFiles {
  if (!fsOps.threaded && network) return { write: writeTemps, writeAt: writeAtByCallbacks, shared: false };
  return {
    async write(items) {
      try {
        throwIfFailed(await fsOps.run(items.map((s): FsOp => ({ op: 'write', dest: s.tmp, data: s.data, mode: TEMP_MODE }))));
      } catch (err) {
        await Promise.all(items.map((s) => rm(s.tmp, { force: true })));
        throw err;
      }
    },
    async writeAt(path, data, pos) {
      throwIfFailed(await fsOps.run([{ op: 'writeAt', path, data, pos, create: pos === 0, mode: TEMP_MODE }]));
    },
    shared: fsOps.threaded,
  };
}
