// flushFilesystem runs `sync -f` (one syncfs for a whole batch) and falls back to fsyncing each file. A
// `sync` first on PATH, a shell script that logs each run and then fails or runs the real one, shows when
// syncfs is tried again: after a failure that can pass (an I/O error reported once) the next flush tries
// it again; only a machine that cannot run it (no -f, no sync) turns it off for the process. The module
// keeps that state, so each case imports it afresh.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeTempDir } from '../helpers/package-fixtures.js';
import { mountTmpfs } from '../helpers/tmpfs.js';

let t: { dir: string; cleanup: () => Promise<void> };
let bin: string;
let log: string;
let path: string | undefined;
beforeEach(async () => {
  t = await makeTempDir();
  bin = join(t.dir, 'bin');
  await mkdir(bin);
  log = join(t.dir, 'sync.log');
  await writeFile(log, '');
  path = process.env['PATH'];
  process.env['PATH'] = `${bin}:${path ?? ''}`;
  vi.resetModules();
});
afterEach(async () => {
  process.env['PATH'] = path;
  await t.cleanup();
});

/** A `sync` that logs its arguments, then fails with `stderr` on its runs numbered in `failing`, else runs the real one. */
async function fakeSync(failing: number[], stderr: string): Promise<void> {
  await writeFile(
    join(bin, 'sync'),
    `#!/bin/sh
echo "$*" >> '${log}'
n=$(wc -l < '${log}')
case " ${failing.join(' ')} " in *" $n "*) echo '${stderr}' >&2; exit 1 ;; esac
exec /usr/bin/sync "$@"
`,
  );
  await chmod(join(bin, 'sync'), 0o755);
}

const runs = async (): Promise<number> => (await readFile(log, 'utf8')).split('\n').filter((l) => l.startsWith('-f ')).length;

async function freshFlush(): Promise<typeof import('../../src/util/flush-filesystem.js').flushFilesystem> {
  return (await import('../../src/util/flush-filesystem.js')).flushFilesystem;
}

describe('flushFilesystem: when syncfs is tried again', () => {
  it('a failure that can pass (an I/O error) falls back to fsyncing the files, and the next flush runs sync -f again', async () => {
    await fakeSync([1, 2], "sync: error syncing '/x': Input/output error");
    const flush = await freshFlush();
    const file = join(t.dir, 'a');
    await writeFile(file, 'a');
    await flush(t.dir, [file]);
    // Tried again, failed again: the fallback ran, since it opens each file and a missing one is its error.
    await expect(flush(t.dir, [join(t.dir, 'missing')])).rejects.toMatchObject({ code: 'ENOENT' });
    // Tried a third time, and it works: the missing file is never opened.
    await flush(t.dir, [join(t.dir, 'missing')]);
    expect(await runs()).toBe(3);
  });

  it('a sync without -f is never run again in the process: later flushes fsync each file', async () => {
    await fakeSync([1, 2, 3], "sync: invalid option -- 'f'");
    const flush = await freshFlush();
    const file = join(t.dir, 'a');
    await writeFile(file, 'a');
    await flush(t.dir, [file]);
    await flush(t.dir, [file]);
    await expect(flush(t.dir, [join(t.dir, 'missing')])).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await runs()).toBe(1);
  });

  it('a sync -f that outruns its deadline is never run again in the process (syncfs is too slow here)', async () => {
    await writeFile(join(bin, 'sync'), `#!/bin/sh\necho "$*" >> '${log}'\nexec sleep 5\n`);
    await chmod(join(bin, 'sync'), 0o755);
    const flush = await freshFlush();
    const file = join(t.dir, 'a');
    await writeFile(file, 'a');
    await flush(t.dir, [file], 200);
    await expect(flush(t.dir, [join(t.dir, 'missing')], 200)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await runs()).toBe(1);
  });

  it('with no sync on PATH the files are fsynced', async () => {
    process.env['PATH'] = bin;
    const flush = await freshFlush();
    const file = join(t.dir, 'a');
    await writeFile(file, 'a');
    await flush(t.dir, [file]);
    await expect(flush(t.dir, [join(t.dir, 'missing')])).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a working sync -f is all a flush does: the files are not opened', async () => {
    await fakeSync([], '');
    const flush = await freshFlush();
    await flush(t.dir, [join(t.dir, 'missing')]);
    expect(await runs()).toBe(1);
  });
});

describe('flushFilesystem with the fetch\'s early writeback', () => {
  /** A `sync` that logs its arguments and the command of the process that ran it, then runs the real one. */
  async function parentLoggingSync(): Promise<void> {
    await writeFile(join(bin, 'sync'), `#!/bin/sh\necho "$* by $(cat /proc/$PPID/comm)" >> '${log}'\nexec /usr/bin/sync "$@"\n`);
    await chmod(join(bin, 'sync'), 0o755);
  }
  const lines = async (): Promise<string[]> => (await readFile(log, 'utf8')).split('\n').filter((l) => l !== '');

  it('runs its sync -f in the writeback\'s shell when one runs for that filesystem, not in a fork of this process', async () => {
    await parentLoggingSync();
    const flush = await freshFlush();
    const { earlyWriteback } = await import('../../src/util/early-writeback.js');
    const wb = earlyWriteback(t.dir, 1);
    try {
      expect(await wb.wrote(1)).toBe(true); // the shell started, with its first flush
      await flush(join(t.dir, 'bin'), [], undefined, wb);
      expect(await lines()).toEqual([`-f ${t.dir} by sh`, `-f ${t.dir} by sh`]);
    } finally {
      wb.close();
    }
  });

  it('runs it in a process of its own for another filesystem than the shell\'s', async () => {
    await parentLoggingSync();
    const flush = await freshFlush();
    const { earlyWriteback } = await import('../../src/util/early-writeback.js');
    const fs = await mountTmpfs('1m');
    const wb = earlyWriteback(t.dir, 1);
    try {
      expect(await wb.wrote(1)).toBe(true);
      await flush(fs.dir, [], undefined, wb);
      const runs = await lines();
      expect(runs[0]).toBe(`-f ${t.dir} by sh`);
      expect(runs).toHaveLength(2);
      expect(runs[1]).toMatch(new RegExp(`^-f ${fs.dir} by `));
      expect(runs[1]).not.toMatch(/ by sh$/);
    } finally {
      wb.close();
      await fs.cleanup();
    }
  });

  it('does not wait on the shell past the deadline: the files are fsynced (a missing one fails), and sync -f is not run again', async () => {
    const flush = await freshFlush();
    const { earlyWriteback } = await import('../../src/util/early-writeback.js');
    const wb = earlyWriteback(t.dir, 1);
    try {
      await fakeSync([], '');
      expect(await wb.wrote(1)).toBe(true);
      // From now on each sync -f takes 3 s: the shell's is late for a deadline of 200 ms.
      await writeFile(join(bin, 'sync'), `#!/bin/sh\necho "$*" >> '${log}'\nsleep 3\n`);
      const t0 = Date.now();
      await expect(flush(t.dir, [join(t.dir, 'missing')], 200, wb)).rejects.toThrow(/ENOENT/);
      expect(Date.now() - t0).toBeLessThan(2_000);
      // The early flush and the shell's late one: no sync -f of the flush's own after it.
      expect(await runs()).toBe(2);
      await flush(t.dir, [log], 200);
      expect(await runs()).toBe(2);
    } finally {
      wb.close();
    }
  });

  it('runs it in a process of its own when no shell runs yet, or the writeback is closed', async () => {
    await parentLoggingSync();
    const flush = await freshFlush();
    const { earlyWriteback } = await import('../../src/util/early-writeback.js');
    const wb = earlyWriteback(t.dir, 1 << 30);
    await flush(t.dir, [], undefined, wb);
    wb.close();
    await flush(t.dir, [], undefined, wb);
    const runs = await lines();
    expect(runs).toHaveLength(2);
    for (const l of runs) expect(l).not.toMatch(/ by sh$/);
  });
});
