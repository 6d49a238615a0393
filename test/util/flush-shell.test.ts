// The shell the early writeback keeps for its flushes (src/util/flush-shell.ts): one `sync -f DIR` per
// flush asked for, its outcome reported, and gone once closed. A `sync` first on PATH logs each run (and
// runs the real one, or fails, as a test says), so the flushes counted are real processes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFlushShell } from '../../src/util/flush-shell.js';
import { waitFor } from '../helpers/fleet.js';
import { flushShellsFor } from '../helpers/flush-shells.js';
import { loggingSync, type LoggingSync } from '../helpers/logging-sync.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

let t: { dir: string; cleanup: () => Promise<void> };
let sync: LoggingSync | undefined;
beforeEach(async () => {
  t = await makeTempDir();
});
afterEach(async () => {
  sync?.restore();
  sync = undefined;
  await t.cleanup();
});

const gone = (dir: string): Promise<boolean> => waitFor(async () => (await flushShellsFor(dir)) === 0, 2_000, 10);

describe('flush shell: one sync -f per flush, in one shell started once', () => {
  it('runs `sync -f DIR` for each flush, in turn, and reports each done', async () => {
    sync = await loggingSync(t.dir);
    const shell = startFlushShell(t.dir);
    expect(await shell.flush()).toBe(true);
    expect(await Promise.all([shell.flush(), shell.flush()])).toEqual([true, true]);
    expect(await sync.lines()).toEqual([`-f ${t.dir}`, `-f ${t.dir}`, `-f ${t.dir}`]);
    // One shell ran all three.
    expect(await flushShellsFor(t.dir)).toBe(1);
    shell.close();
    expect(await gone(t.dir)).toBe(true);
  });

  it('a sync that fails is reported as such, and the next flush still runs', async () => {
    sync = await loggingSync(t.dir, 'echo "$*" >> LOG\nexit 1\n');
    const shell = startFlushShell(t.dir);
    expect(await shell.flush()).toBe(false);
    expect(await shell.flush()).toBe(false);
    expect((await sync.lines()).length).toBe(2);
    shell.close();
  });

  it('once closed, a flush reports false and runs nothing', async () => {
    sync = await loggingSync(t.dir);
    const shell = startFlushShell(t.dir);
    expect(await shell.flush()).toBe(true);
    shell.close();
    expect(await gone(t.dir)).toBe(true);
    expect(await shell.flush()).toBe(false);
    expect((await sync.lines()).length).toBe(1);
  });
});
