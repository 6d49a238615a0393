// A disk that fills while a Nix closure is unpacked is this machine's fault, not the cache's: the fetch
// fails with DiskFullError naming the store path (an agent stalls on it rather than fetch again), and no
// path or temp is left. A real 2 MiB tmpfs as the root (we run as root), a closure built by real Nix.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { materialiseNixClosure, openNixCache, parseNixPublicKey, resolveNixClosure, type NixTrustPolicy } from '../../src/nix/index.js';
import { startHttpStoreServer } from '../helpers/http-store-server.js';
import { buildNixClosure, publishNixCache, type NixClosureFixture } from '../helpers/nix-closure.js';
import { mountTmpfs } from '../helpers/tmpfs.js';
import { makeScratch, type Scratch } from '../../scripts/world/tools.js';

let scratch: Scratch;
let fx: NixClosureFixture;
let trust: NixTrustPolicy;

beforeAll(async () => {
  scratch = await makeScratch('nix-disk-full');
  fx = await buildNixClosure(scratch.path, [{ name: 'flotilla-lib', blobBytes: 3_000_000, files: 40 }]);
  const k = parseNixPublicKey(fx.publicKey);
  trust = { keys: new Map([[k.name, k.key]]), threshold: 1 };
  for (const c of ['none', 'zstd'] as const) await publishNixCache(fx, join(scratch.path, `cache-${c}`), c);
}, 120_000);
afterAll(() => scratch.cleanup());

describe('a disk that fills during a Nix fetch', () => {
  // Uncompressed: read by this process in reused buffers (from the directory) or through the store's
  // buffer (HTTP); zstd: the system tool reads the file (directory) or is fed from the buffer (HTTP).
  it.each([
    ['none', 'file'],
    ['none', 'http'],
    ['zstd', 'file'],
    ['zstd', 'http'],
  ] as const)('%s over %s: DiskFullError naming the path, nothing placed', async (c, over) => {
    const fs = await mountTmpfs('2m');
    const server = over === 'http' ? await startHttpStoreServer(join(scratch.path, `cache-${c}`)) : undefined;
    const cache = await openNixCache(server === undefined ? `nix+file://${join(scratch.path, `cache-${c}`)}` : `nix+${server.url}`);
    try {
      const closure = await resolveNixClosure(cache, fx.top, trust);
      const err = (await materialiseNixClosure(cache, closure, fs.dir).then(
        () => undefined,
        (e: unknown) => e,
      )) as (Error & { code?: string }) | undefined;
      expect(err?.code, err?.message).toBe('DiskFullError');
      expect(err?.message).toContain(fx.libs[0] ?? 'lib');
      expect(err?.message).toMatch(/ENOSPC/);
      expect(await readdir(join(fs.dir, 'nix/store'))).toEqual([]);
    } finally {
      await cache.close();
      await server?.close();
      await fs.cleanup();
    }
  });
});
