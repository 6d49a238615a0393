import { pageCacheJudge, type PageCacheJudge } from './page-cache-judge.js';

/**
 * How a fetch writes large files: with O_DIRECT, straight to the device ('on'), through the page cache
 * ('off'), or through the page cache until its writes show it slow, then around it ('auto',
 * util/page-cache-judge.ts). FLOTILLA_DIRECT_WRITES=1 is 'on', =0 'off', anything else 'auto'. Read at
 * each use, so one process (a test) can set it for one fetch.
 *
 * Why not one fixed way: which is faster depends on the host, and here on the hour. On the VM of session
 * 15, every fresh page-cache page faulted into the host (free page reporting), and direct writes cut a
 * cold 150 MB fetch by ~0.13 s. On the VM of session 24, page-cache writes ran at memory speed, direct ones
 * at ~350 MB/s, and the flush before the renames cost as much after direct writes as after cached ones:
 * a cold fetch was 10–16 % slower with them. Session 31 saw both on one VM within minutes: a 256 KiB
 * write of fresh pages took 0.06 ms, and later 0.6 ms (docs/performance.md, *Which way to write*).
 */
export type DirectWritesSetting = 'on' | 'off' | 'auto';

export function directWritesSetting(env: NodeJS.ProcessEnv = process.env): DirectWritesSetting {
  const v = env['FLOTILLA_DIRECT_WRITES'];
  return v === '1' ? 'on' : v === '0' ? 'off' : 'auto';
}

/** Whether a large file's next bytes go around the page cache: the setting, or for 'auto' the judge's verdict so far. */
export function directWritesNow(env: NodeJS.ProcessEnv = process.env, judge: PageCacheJudge = pageCacheJudge): boolean {
  const s = directWritesSetting(env);
  return s === 'auto' ? judge.slow() : s === 'on';
}

/** Whether direct writes are asked for outright (FLOTILLA_DIRECT_WRITES=1). */
export function directWritesWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return directWritesSetting(env) === 'on';
}
