import { rm, writeFile } from 'node:fs/promises';

/**
 * Writes each buffer to its new temp file (mode 0600, never over an existing name) through libuv's pool, all
 * at once; on any failure removes every one of them and throws the first error. For fetches without fs
 * worker threads: creating a file can take most of a millisecond on a busy filesystem (this VM's ext4
 * scanning past recently deleted inodes), which on the main thread would stall every download in flight.
 */
export async function writeTemps(items: ReadonlyArray<{ tmp: string; data: Uint8Array }>): Promise<void> {
  const done = await Promise.allSettled(items.map((s) => writeFile(s.tmp, s.data, { flag: 'wx', mode: 0o600 })));
  const failed = done.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed === undefined) return;
  await Promise.all(items.map((s) => rm(s.tmp, { force: true })));
  throw failed.reason;
}
