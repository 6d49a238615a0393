// How fast this host fills page-cache pages it has not just freed: the state of the machine that moves
// every figure of the fetch and nix benchmarks together. On this project's VMs (free page reporting to the
// host) a new page sometimes faults into the host: 256 MiB of fresh page cache was written at ~5 GB/s at
// one hour and ~0.45 GB/s at another, and a round's `nix copy` took 0.31 s then 0.63 s with it
// (docs/performance.md, session 32). Printed beside the ratios, so a run's figures can be read against it.
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { timeSync } from './timed-process.js';

/**
 * Writes `mib` MiB of new page cache into a file under `dir` (removed after), and answers GB/s. The file's
 * pages are freed at once, so whatever runs next gets warm pages: call it outside the timed rounds.
 */
export async function freshPageCacheGBps(dir: string, mib = 256): Promise<number> {
  const path = join(dir, `fresh-pages-${process.pid}`);
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  const fd = openSync(path, 'wx', 0o600);
  let seconds: number;
  try {
    const t0 = performance.now();
    for (let i = 0; i < mib; i++) writeSync(fd, chunk, 0, chunk.length, i * chunk.length);
    seconds = (performance.now() - t0) / 1000;
  } finally {
    closeSync(fd);
    unlinkSync(path);
  }
  // Its writeback (if any began) is not left to the next timed step.
  await timeSync();
  return (mib * chunk.length) / 1e9 / seconds;
}
