// A closure of one large path and several small ones, as a service's closure is. From a local cache the
// large NAR is set going before any small one (src/nix/materialise.ts, largeFirst), so that its
// decompressor runs while this thread decodes the small ones; over a network nothing waits on it; a
// large NAR that fails before its bytes flow still lets the fetch end, with its error and nothing placed.
// Real Nix builds and signs the closure; a `zstd` wrapper on PATH logs its runs and holds each 300 ms; the
// project's static server serves the cache behind a proxy that logs each NAR request and holds its answer.
import { appendFileSync } from 'node:fs';
import { chmod, cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool } from '../../src/nix/decompress-tool.js';
import { materialiseNixClosure, openNixCache, parseNixPublicKey, parseStorePath, resolveNixClosure, type NixCache, type NixTrustPolicy } from '../../src/nix/index.js';
import { startHttpStoreServer } from '../helpers/http-store-server.js';
import { startNarFlightProxy } from '../helpers/nar-flight-proxy.js';
import { buildNixClosure, nixDump, publishNixCache, type NixClosureFixture } from '../helpers/nix-closure.js';
import { makeScratch, type Scratch } from '../../scripts/world/tools.js';

let scratch: Scratch;
let fx: NixClosureFixture;
let trust: NixTrustPolicy;
let cache: string;
let large: string;
/** The large path's NAR as the server names it (`/nar/…`), from its narinfo's URL. */
let largeNar: string;
/** Where the `zstd` wrapper and the logging cache write, in order. */
let log: string;
const realPath = process.env['PATH'] ?? '';

beforeAll(async () => {
  scratch = await makeScratch('nix-large-first');
  // 3 MB of blob: a NAR over the small NARs' 1 MiB, beside three small libs and the app.
  fx = await buildNixClosure(scratch.path, [{ name: 'large', blobBytes: 3_000_000 }, ...Array.from({ length: 3 }, (_, i) => ({ name: `small-${i}`, blobBytes: 2_000 + i * 1_000 }))]);
  const k = parseNixPublicKey(fx.publicKey);
  trust = { keys: new Map([[k.name, k.key]]), threshold: 1 };
  cache = join(scratch.path, 'cache-zstd');
  await publishNixCache(fx, cache, 'zstd');
  large = fx.libs[0]!;
  const info = await readFile(join(cache, `${parseStorePath(large).hash}.narinfo`), 'utf8');
  expect(Number(/^NarSize: (\d+)$/m.exec(info)?.[1])).toBeGreaterThan(1024 * 1024);
  largeNar = `/${/^URL: (.+)$/m.exec(info)?.[1] ?? ''}`;
  const bin = join(scratch.path, 'bin');
  await mkdir(bin);
  log = join(scratch.path, 'order.log');
  await writeFile(join(bin, 'zstd'), `#!/bin/sh\nsleep 0.3\necho zstd >> ${log}\nexec ${findTool('zstd')} "$@"\n`);
  await chmod(join(bin, 'zstd'), 0o755);
  process.env['PATH'] = `${bin}:${realPath}`;
}, 180_000);
afterAll(async () => {
  process.env['PATH'] = realPath;
  await scratch.cleanup();
});

/** `cache`, logging `small` each time a small path's NAR file is looked for (as it is read, fetch-nar.ts). */
function loggingSmallReads(cache: NixCache): NixCache {
  return {
    ...cache,
    narFilePath(info) {
      if (info.storePath !== large) appendFileSync(log, 'small\n');
      return cache.narFilePath?.(info);
    },
  };
}

/** The positions in `events` of each step of the NAR `nar`, and of the other NARs' requests. */
function order(events: readonly { nar: string; step: string }[], nar: string): { answered: number; othersAsked: number[] } {
  return {
    answered: events.findIndex((e) => e.nar === nar && e.step === 'answered'),
    othersAsked: events.flatMap((e, i) => (e.nar !== nar && e.step === 'asked' ? [i] : [])),
  };
}

describe('a closure of one large path and small ones', () => {
  it('from a local cache, no small NAR is read before the large NAR\'s zstd ran; placed byte for byte', async () => {
    await writeFile(log, '');
    const root = join(scratch.path, 'root-local');
    const nix = await openNixCache(`nix+file://${cache}`);
    try {
      const logged = loggingSmallReads(nix);
      await materialiseNixClosure(logged, await resolveNixClosure(nix, fx.top, trust), root);
    } finally {
      await nix.close();
    }
    // The wrapper logs once it held the large NAR's zstd 300 ms: a small NAR read beside it comes first.
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    expect(lines).toEqual(['zstd', ...Array.from({ length: fx.paths.length - 1 }, () => 'small')]);
    for (const p of fx.paths) expect((await nixDump(join(root, p), fx.dir)).equals(await nixDump(p, fx.dir))).toBe(true);
  });

  it('over HTTP, the small NARs are asked for while the large one is held: nothing waits on a network', async () => {
    const origin = await startHttpStoreServer(cache);
    const proxy = await startNarFlightProxy(origin.url);
    try {
      const root = join(scratch.path, 'root-http');
      const nix = await openNixCache(`nix+${proxy.url}`);
      try {
        await materialiseNixClosure(nix, await resolveNixClosure(nix, fx.top, trust), root);
      } finally {
        await nix.close();
      }
      const { answered, othersAsked } = order(proxy.events(), largeNar);
      expect(answered, `${largeNar} answered`).toBeGreaterThanOrEqual(0);
      expect(othersAsked.length).toBe(fx.paths.length - 1);
      expect(othersAsked.some((i) => i < answered), JSON.stringify(proxy.events())).toBe(true);
      for (const p of fx.paths) expect((await nixDump(join(root, p), fx.dir)).equals(await nixDump(p, fx.dir))).toBe(true);
    } finally {
      await proxy.close();
      await origin.close();
    }
  });

  it('a large NAR missing from the cache fails the fetch naming its path, once every NAR settled, and nothing is placed', async () => {
    const broken = join(scratch.path, 'cache-zstd-no-large-nar');
    await cp(cache, broken, { recursive: true });
    await rm(join(broken, largeNar));
    const root = join(scratch.path, 'root-broken');
    const nix = await openNixCache(`nix+file://${broken}`);
    try {
      const closure = await resolveNixClosure(nix, fx.top, trust);
      await expect(materialiseNixClosure(nix, closure, root)).rejects.toThrow(large);
    } finally {
      await nix.close();
    }
    expect(await readdir(join(root, 'nix/store'))).toEqual([]);
  });
});
