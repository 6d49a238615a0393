/**
 * Whether a fetch writes large files with O_DIRECT, straight to the device, rather than through the page
 * cache: only with FLOTILLA_DIRECT_WRITES=1 in the environment. Read at each use, so one process (a test)
 * can turn it on for one fetch.
 *
 * Why off by default: which way is faster depends on the host, not on Flotilla. On the VM of session 15,
 * every fresh page-cache page faulted into the host (free page reporting), and direct writes cut a cold
 * 150 MB fetch by ~0.13 s. On the VM of session 24, page-cache writes ran at memory speed, direct ones at
 * ~350 MB/s, and the flush before the renames cost as much after direct writes as after cached ones: a
 * cold fetch was 10–16 % slower with them, and the early writeback (which overlaps the disk's work with the
 * download) had nothing to do. Nix, ostree and the kernel's own defaults write through the cache; so does
 * Flotilla, unless a host's own measurement (`npm run bench -- fetch`, docs/performance.md) says otherwise.
 */
export function directWritesWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['FLOTILLA_DIRECT_WRITES'] === '1';
}
