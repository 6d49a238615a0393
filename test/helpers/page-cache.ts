import { execFileSync } from 'node:child_process';

/**
 * Bytes of `path` in the page cache, from util-linux's fincore (installed by scripts/install-test-deps.sh):
 * a file written with O_DIRECT has none there but the blocks written through the cache.
 */
export function residentBytes(path: string): number {
  const out = execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path], { encoding: 'utf8' }).trim();
  const n = Number(out);
  if (!Number.isInteger(n)) throw new Error(`fincore ${path} answered "${out}", not a byte count`);
  return n;
}
