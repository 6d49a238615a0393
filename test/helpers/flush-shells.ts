import { readdir, readFile } from 'node:fs/promises';

/** How many flush shells (src/util/flush-shell.ts) run for `dir`: processes whose command line names both. */
export async function flushShellsFor(dir: string): Promise<number> {
  let n = 0;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes('flotilla-flush') && cmd.split('\0').includes(dir)) n++;
  }
  return n;
}
