import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWarmFetcher } from '../../bench/lib/warm-fetch-client.js';
import { buildNixClosure, publishNixCache, type NixClosureFixture } from '../helpers/nix-closure.js';
import { makeScratch, type Scratch } from '../../scripts/world/tools.js';

// The Nix benchmark's "warm process" column stands for the agent's fetch only if the warm process runs the
// bin's own fetch (the same answers, the same refusals) and keeps running between requests. Run as the
// built process the bench runs, on a real closure built and signed with Nix.

const exec = promisify(execFile);
const WARM_FETCHER = resolve('dist/bench/lib/warm-fetcher.js');

describe('bench: a warm process runs flotilla fetch as the agent\'s worker does, one request after another', () => {
  let scratch: Scratch;
  let fx: NixClosureFixture;
  let cache: string;
  beforeAll(async () => {
    scratch = await makeScratch('warm-fetcher');
    fx = await buildNixClosure(scratch.path, [{ name: 'warm-lib', blobBytes: 300_000, files: 5 }]);
    cache = join(scratch.path, 'cache');
    await publishNixCache(fx, cache, 'none');
  }, 120_000);
  afterAll(async () => {
    await exec('chmod', ['-R', 'u+w', scratch.path]).catch(() => undefined);
    await scratch?.cleanup();
  });

  it('says it is ready, places the closure, answers its no-op with nothing fetched, refuses an untrusted key, and exits when its input ends', async () => {
    const warm = startWarmFetcher(WARM_FETCHER);
    const root = join(scratch.path, 'root');
    const args = (key: string): string[] => [fx.top, '--store', `nix+file://${cache}`, '--trust', key, '--root', root, '--register', 'never', '--json'];
    try {
      // Loaded before the first request, which the bench then times alone.
      await warm.ready;
      const cold = await warm.fetch(args(fx.publicKey));
      const placed = (JSON.parse(cold.stdout) as { data: { fetched: string[] } }).data.fetched;
      expect(placed).toContain(fx.top);
      expect(cold.seconds).toBeGreaterThan(0);
      const noop = await warm.fetch(args(fx.publicKey));
      expect((JSON.parse(noop.stdout) as { data: { fetched: string[]; present: string[] } }).data).toMatchObject({ fetched: [], present: expect.arrayContaining([fx.top]) as unknown });
      // The same name, another key: the kept narinfos no longer verify, nor do the cache's.
      const other = `${fx.publicKey.slice(0, fx.publicKey.indexOf(':'))}:${Buffer.alloc(32, 7).toString('base64')}`;
      await expect(warm.fetch(args(other))).rejects.toThrow(/exited 1: .*SignatureError/);
      // Still answering after a refusal.
      expect((await warm.fetch(args(fx.publicKey))).exitCode).toBe(0);
    } finally {
      await warm.close();
    }
  });

  it('is not taken for ready when it cannot start, and says why', async () => {
    const warm = startWarmFetcher(join(scratch.path, 'no-such-fetcher.js'));
    await expect(warm.ready).rejects.toThrow(/the warm fetcher did not start: .*Cannot find module .*no-such-fetcher\.js/s);
    await expect(warm.fetch(['--help'])).rejects.toThrow(/did not start/);
    await warm.close();
  });

  it('ends with exit 1 on a line that is not a JSON array of strings, and the client says it exited', async () => {
    const warm = startWarmFetcher(WARM_FETCHER);
    await expect(warm.fetch(['--help']).then(() => warm.fetch([1 as unknown as string]))).rejects.toThrow(/the warm fetcher exited: .*not a JSON array of strings/);
    await warm.close();
  });
});
