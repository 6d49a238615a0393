import { rm } from 'node:fs/promises';
import { throwIfFailed, type FsOpRunner } from './fs-op-runner.js';
import type { FsOp } from './fs-ops.js';
import { TEMP_MODE, writeFileAt, writeTemps } from './write-temps.js';

/** How a fetch creates the files of objects that arrive over the network (mode TEMP_MODE). */
export interface NewFiles {
  /** Creates each file with its bytes, never over an existing name; on any failure removes them all and throws. */
  write(items: ReadonlyArray<{ tmp: string; data: Uint8Array }>): Promise<void>;
  /**
   * Writes `data` at `pos` of `path`, creating it (exclusively) when `pos` is 0. A file written in pieces
   * sends each piece once the one before it is done, `last` false on all but the final one (which may be
   * empty): the file stays writable by its owner until then, and gets the temp mode with it.
   */
  writeAt(path: string, data: Uint8Array, pos: number, last?: boolean): Promise<void>;
  /** The bytes are read on another thread: callers keep them in shared memory, so none are copied. */
  readonly shared: boolean;
  /**
   * That thread writes data of DIRECT_FROM bytes or more with O_DIRECT (FsOpRunner.direct): such data is
   * best placed on a block boundary of page-aligned memory, where it is written from without a copy.
   */
  readonly direct: boolean;
  /**
   * Packs write their files synchronously on the calling thread, straight from the bytes read
   * (pack-splitter-inline.ts); `write` and `writeAt` run as synchronous steps too (inlineFsOpRunner).
   */
  readonly inline: boolean;
}

/**
 * New files through `fsOps` when it has worker threads: a batch per message (each hand-off to another
 * thread costs tens of microseconds of the main thread on this VM, a file's open, write and close three of
 * them through libuv's pool), reading the bytes from shared memory. Without threads, a `network` fetch
 * goes through libuv's pool, as creating a file on the main thread would stall every download in flight;
 * a local one runs the steps synchronously (a few microseconds each, no downloads to stall), and so does
 * one that writes `inline` (its packs create their files on this thread anyway: pack-splitter-inline.ts).
 */
export function newFilesOn(fsOps: FsOpRunner, network: boolean, inline = false): NewFiles {
  if (!fsOps.threaded && network && !inline) return { write: writeTemps, writeAt: writeFileAt, shared: false, direct: false, inline: false };
  return {
    async write(items) {
      try {
        throwIfFailed(await fsOps.run(items.map((s): FsOp => ({ op: 'write', dest: s.tmp, data: s.data, mode: TEMP_MODE }))));
      } catch (err) {
        await Promise.all(items.map((s) => rm(s.tmp, { force: true })));
        throw err;
      }
    },
    async writeAt(path, data, pos, last = true) {
      throwIfFailed(await fsOps.run([{ op: 'writeAt', path, data, pos, create: pos === 0, mode: TEMP_MODE, last }]));
    },
    shared: fsOps.threaded,
    direct: fsOps.threaded && fsOps.direct,
    inline: inline && !fsOps.threaded,
  };
}
