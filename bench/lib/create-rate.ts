// How fast this host creates small files: the other state of the machine that moves the fetch and nix
// benchmarks' figures. On ext4 without a journal (these VMs), an inode is not reused for a while after its
// file is deleted, and each create steps over the recently freed ones: 2,000 files took 57–61 ms at one
// moment and 106–306 ms in the minutes after 17 GB of trees were removed (docs/performance.md, session 40).
// Every tool's cold fetch creates hundreds to thousands of files, and a benchmark run ends by deleting
// its own, so a run started soon after another is slow throughout. Printed beside the ratios, as the
// fresh-page rate is (fresh-pages.ts).
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const LINE = Buffer.from('flotilla benchmark create probe\n');
let probes = 0;

/**
 * Creates `files` small files (one line each) in a new directory under `dir` and answers files per
 * millisecond. They are left in place: deleting them would itself slow the creates after it, so they go
 * with `dir` (the benchmark's root, removed at its end). Call it outside the timed rounds.
 */
export function fileCreatesPerMs(dir: string, files = 2000): number {
  if (!Number.isInteger(files) || files < 1) throw new Error(`fileCreatesPerMs: files must be a whole number of at least 1, not ${files}`);
  const at = join(dir, `create-probe-${process.pid}-${++probes}`);
  mkdirSync(at);
  const t0 = performance.now();
  for (let i = 0; i < files; i++) {
    const fd = openSync(join(at, `f${i}`), 'wx', 0o644);
    try {
      writeSync(fd, LINE);
    } finally {
      closeSync(fd);
    }
  }
  return files / (performance.now() - t0);
}
