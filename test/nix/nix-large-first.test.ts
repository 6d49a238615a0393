// A closure of one large path and several small ones, as a service's closure is: the large NAR is set going
// before any small one (src/nix/materialise.ts, largeFirst), so that its reads, request or decompressor run
// while this thread decodes the small ones; a large NAR that fails before its bytes flow still lets the
// fetch end, with its error and nothing placed. Real Nix builds and signs the closure; the project's static
// server serves it behind a proxy that logs each NAR request and holds its answer.
import { cp, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { materialiseNixClosure, openNixCache, parseNixPublicKey, parseStorePath, resolveNixClosure, type NixTrustPolicy } from '../../src/nix/index.js';
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
}, 180_000);
afterAll(async () => {
  await scratch.cleanup();
});

/** The positions in `events` of each step of the NAR `nar`, and of the other NARs' requests. */
function order(events: readonly { nar: string; step: string }[], nar: string): { answered: number; othersAsked: number[] } {
  return {
    answered: events.findIndex((e) => e.nar === nar && e.step === 'answered'),
    othersAsked: events.flatMap((e, i) => (e.nar !== nar && e.step === 'asked' ? [i] : [])),
  };
}

describe('a closure of one large path and small ones', () => {
  it('over HTTP, no small NAR is asked for before the large NAR answered; `concurrency` starts them together; placed byte for byte', async () => {
    const origin = await startHttpStoreServer(cache);
    const proxy = await startNarFlightProxy(origin.url);
    try {
      for (const concurrency of [undefined, 8]) {
        proxy.reset();
        const root = join(scratch.path, `root-http-${concurrency ?? 'default'}`);
        const nix = await openNixCache(`nix+${proxy.url}`);
        try {
          await materialiseNixClosure(nix, await resolveNixClosure(nix, fx.top, trust), root, concurrency === undefined ? {} : { concurrency });
        } finally {
          await nix.close();
        }
        const { answered, othersAsked } = order(proxy.events(), largeNar);
        expect(answered, `${largeNar} answered`).toBeGreaterThanOrEqual(0);
        expect(othersAsked.length).toBe(fx.paths.length - 1);
        if (concurrency === undefined) expect(othersAsked.every((i) => i > answered), JSON.stringify(proxy.events())).toBe(true);
        // One pool for every NAR: the small ones go out while the large one is held.
        else expect(othersAsked.some((i) => i < answered), JSON.stringify(proxy.events())).toBe(true);
        for (const p of fx.paths) expect((await nixDump(join(root, p), fx.dir)).equals(await nixDump(p, fx.dir))).toBe(true);
      }
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
