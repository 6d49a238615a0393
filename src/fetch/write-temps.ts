import { close, constants, fchmod, open, write } from 'node:fs';
import { rm } from 'node:fs/promises';

/**
 * Whether a new temp of a cache object can be created with its final mode, 0444: the process umask leaves
 * read bits alone (it does by default). Then committing it is a rename alone, without a chmod: one syscall
 * and one thread hop fewer per object. The executable (0555) twins are still chmodded.
 */
export const TEMPS_HAVE_FINAL_MODE = (process.umask() & 0o444) === 0;
/** The mode every object temp is created with (see TEMPS_HAVE_FINAL_MODE). */
export const TEMP_MODE = TEMPS_HAVE_FINAL_MODE ? 0o444 : 0o600;

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;

/**
 * Writes `data` at byte `pos` of `path` through libuv's pool with callbacks: at 0 a new file (never over an
 * existing name), else the existing one, not through a symlink. A file written in pieces (`last` false on
 * all but its final piece) is created 0600, so that its owner can open it again for the next piece, and
 * gets TEMP_MODE with its last piece (a 0444 file cannot be opened for writing but by root); a file written
 * whole is created with TEMP_MODE. One promise per call, where `fs/promises` makes a FileHandle and a
 * promise for each of open, write and close.
 */
export function writeFileAt(path: string, data: Uint8Array, pos: number, last = true): Promise<void> {
  const whole = pos === 0 && last;
  return new Promise((resolve, reject) => {
    open(path, O_WRONLY | O_NOFOLLOW | (pos === 0 ? O_CREAT | O_EXCL : 0), whole ? TEMP_MODE : 0o600, (err, fd) => {
      if (err) return reject(err);
      const finish = (failed: Error | null): void =>
        close(fd, (closeErr) => {
          const e = failed ?? closeErr;
          if (e) reject(e);
          else resolve();
        });
      const next = (done: number): void => {
        if (done === data.length) return last && !whole ? fchmod(fd, TEMP_MODE, finish) : finish(null);
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
 * Writes each buffer to its new temp file (mode TEMP_MODE, never over an existing name) through libuv's pool, all
 * at once; on any failure removes every one of them and throws the first error. For fetches without fs
 * worker threads: creating a file can take most of a millisecond on a busy filesystem (this VM's ext4
 * scanning past recently deleted inodes), which on the main thread would stall every download in flight.
 */
export async function writeTemps(items: ReadonlyArray<{ tmp: string; data: Uint8Array }>): Promise<void> {
  const done = await Promise.allSettled(items.map((s) => writeFileAt(s.tmp, s.data, 0)));
  const failed = done.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed === undefined) return;
  await Promise.all(items.map((s) => rm(s.tmp, { force: true })));
  throw failed.reason;
}
