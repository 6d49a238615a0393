// A Nix fetch's flushes (src/fetch/nix-closure.ts): the early ones, every 16 MiB written through the page
// cache, and the last one before the renames go to the store's filesystem (`<root>/nix/store`, which may be
// a mount of its own), and the last runs in the early writeback's kept shell, not in a fork of the fetch.
// A `sync` first on PATH logs each run with the command of the process that ran it; the closure is real Nix's.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchNixClosure, nixTrustOf } from '../../src/fetch/nix-closure.js';
import type { NixStorePath } from '../../src/store/closure-ref.js';
import { loggingSync } from '../helpers/logging-sync.js';
import { buildNixClosure, nixDump, publishNixCache, type NixClosureFixture } from '../helpers/nix-closure.js';
import { makeScratch, type Scratch } from '../../scripts/world/tools.js';

let scratch: Scratch;
let fx: NixClosureFixture;
let cache: string;
beforeAll(async () => {
  scratch = await makeScratch('nix-closure-writeback');
  // 40 MB through the page cache (the tests run with FLOTILLA_DIRECT_WRITES=0): two early flushes at least.
  fx = await buildNixClosure(scratch.path, [{ name: 'wb-lib', blobBytes: 40_000_000, files: 3 }]);
  cache = join(scratch.path, 'cache');
  await publishNixCache(fx, cache, 'none');
}, 120_000);
afterAll(() => scratch.cleanup());

describe('a Nix fetch\'s flushes', () => {
  it('flush the store\'s filesystem, early ones and the last alike, all from the kept shell', async () => {
    const sync = await loggingSync(scratch.path, 'echo "$* by $(cat /proc/$PPID/comm)" >> LOG\nexec /usr/bin/sync "$@"\n');
    const root = join(scratch.path, 'root');
    try {
      await fetchNixClosure({ urls: [`nix+file://${cache}`], trust: nixTrustOf({ trustedKeys: [fx.publicKey], threshold: 1 }) }, fx.top as NixStorePath, root);
    } finally {
      sync.restore();
    }
    const runs = await sync.lines();
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (const r of runs) expect(r).toBe(`-f ${join(root, 'nix/store')} by sh`);
    const lib = fx.libs[0] ?? '';
    expect((await nixDump(join(root, lib), scratch.path)).equals(await nixDump(lib, fx.dir))).toBe(true);
  });
});
