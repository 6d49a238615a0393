// A closure of several small paths, the shape of a real system's, from real Nix caches (xz and zstd): placed
// byte for byte, and with no fork per path. Wrappers on PATH record each run of `xz` and `zstd`: the small
// xz NARs all go through one `xz` process (src/nix/xz-lane.ts), the small zstd NARs through none (zstddec,
// in this process, loaded before they start).
import { chmod, cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { IntegrityError } from '../../src/errors/index.js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool } from '../../src/nix/decompress-tool.js';
import { IN_PROCESS_FILE_MAX } from '../../src/nix/decompress.js';
import { materialiseNixClosure, openNixCache, parseNixPublicKey, parseStorePath, resolveNixClosure, type NixTrustPolicy } from '../../src/nix/index.js';
import { startHttpStoreServer } from '../helpers/http-store-server.js';
import { startNarFlightProxy } from '../helpers/nar-flight-proxy.js';
import { buildNixClosure, nixDump, publishNixCache, type NixClosureFixture } from '../helpers/nix-closure.js';
import { makeScratch, type Scratch } from '../../scripts/world/tools.js';
import { loadZstdWasm, zstdDecoderUse, zstdInMemoryReady } from '../../src/nix/zstd-stream.js';

let scratch: Scratch;
let fx: NixClosureFixture;
let trust: NixTrustPolicy;
let log: string;
const realPath = process.env['PATH'] ?? '';

beforeAll(async () => {
  scratch = await makeScratch('nix-small-paths');
  fx = await buildNixClosure(scratch.path, Array.from({ length: 7 }, (_, i) => ({ name: `small-${i}`, blobBytes: 3_000 + i * 4_000, files: 3 })));
  const k = parseNixPublicKey(fx.publicKey);
  trust = { keys: new Map([[k.name, k.key]]), threshold: 1 };
  for (const c of ['xz', 'zstd'] as const) await publishNixCache(fx, join(scratch.path, `cache-${c}`), c);
  const bin = join(scratch.path, 'bin');
  await mkdir(bin);
  log = join(scratch.path, 'runs.log');
  for (const tool of ['xz', 'zstd']) {
    await writeFile(join(bin, tool), `#!/bin/sh\necho ${tool} >> ${log}\nexec ${findTool(tool)} "$@"\n`);
    await chmod(join(bin, tool), 0o755);
  }
  process.env['PATH'] = `${bin}:${realPath}`;
}, 180_000);
afterAll(async () => {
  process.env['PATH'] = realPath;
  await scratch.cleanup();
});

const runsOf = async (tool: string): Promise<number> => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter((l) => l === tool).length;

describe('a closure of small paths', () => {
  it.each([
    ['xz', 1],
    ['zstd', 0],
  ] as const)('from %s: placed byte for byte, with %i run(s) of the tool for all its paths', async (c, toolRuns) => {
    const cache = join(scratch.path, `cache-${c}`);
    for (const p of fx.paths) {
      const info = await readFile(join(cache, `${parseStorePath(p).hash}.narinfo`), 'utf8');
      expect(Number(/^FileSize: (\d+)$/m.exec(info)?.[1])).toBeLessThanOrEqual(IN_PROCESS_FILE_MAX);
    }
    expect(fx.paths.length).toBe(8);
    const before = await runsOf(c);
    const decoded = zstdDecoderUse();
    const root = join(scratch.path, `root-${c}`);
    const nix = await openNixCache(`nix+file://${cache}`);
    try {
      await materialiseNixClosure(nix, await resolveNixClosure(nix, fx.top, trust), root);
    } finally {
      await nix.close();
    }
    expect(await runsOf(c)).toBe(before + toolRuns);
    // zstddec, loaded before the NARs started, decoded every one of them.
    if (c === 'zstd') expect(zstdDecoderUse()).toEqual({ zstddec: decoded.zstddec + fx.paths.length, fzstd: decoded.fzstd });
    expect((await readdir(join(root, 'nix/store'))).sort()).toEqual(fx.paths.map((p) => p.slice('/nix/store/'.length)).sort());
    for (const p of fx.paths) expect((await nixDump(join(root, p), fx.dir)).equals(await nixDump(p, fx.dir))).toBe(true);
  });

  it('over HTTP, small NARs are fetched more than four at once by default, and no more than `concurrency` when given', async () => {
    // The project's static server behind a proxy that holds each NAR response 150 ms and counts the NAR
    // requests in flight.
    const origin = await startHttpStoreServer(join(scratch.path, 'cache-zstd'));
    const proxy = await startNarFlightProxy(origin.url);
    try {
      for (const [concurrency, bound] of [[undefined, (m: number) => m > 4], [2, (m: number) => m === 2]] as const) {
        proxy.reset();
        const nix = await openNixCache(`nix+${proxy.url}`);
        try {
          const root = join(scratch.path, `root-lanes-${concurrency ?? 'default'}`);
          await materialiseNixClosure(nix, await resolveNixClosure(nix, fx.top, trust), root, concurrency === undefined ? {} : { concurrency });
          expect((await readdir(join(root, 'nix/store'))).length).toBe(fx.paths.length);
        } finally {
          await nix.close();
        }
        expect(bound(proxy.most()), `concurrency ${concurrency ?? 'default'}: ${proxy.most()} NARs at once`).toBe(true);
      }
    } finally {
      await proxy.close();
      await origin.close();
    }
  });

  it('from zstd, decoded at once: a NAR file changed in the cache fails the fetch naming its path, and nothing is placed', async () => {
    const bad = join(scratch.path, 'cache-zstd-bad');
    await cp(join(scratch.path, 'cache-zstd'), bad, { recursive: true });
    const victim = fx.libs[2]!;
    const info = await readFile(join(bad, `${parseStorePath(victim).hash}.narinfo`), 'utf8');
    const nar = join(bad, /^URL: (.*)$/m.exec(info)?.[1] ?? '');
    const bytes = await readFile(nar);
    // The last byte of its frame: the stream still decodes, to other bytes or to an error of its own.
    bytes.writeUInt8((bytes.readUInt8(bytes.length - 1) ^ 0x01) & 0xff, bytes.length - 1);
    await writeFile(nar, bytes);
    // zstddec loaded and not spoiled: every small zstd NAR of this fetch, the changed one too, is decoded at
    // once (fetch-nar.ts). Which NAR fails first, and whether others are decoded before it, depends on the
    // closure's order (its paths' hashes), so the count of decodes is not asserted.
    expect(await loadZstdWasm()).toBe(true);
    expect(zstdInMemoryReady()).toBe(true);
    const root = join(scratch.path, 'root-zstd-bad');
    const nix = await openNixCache(`nix+file://${bad}`);
    try {
      const closure = await resolveNixClosure(nix, fx.top, trust);
      const err = await materialiseNixClosure(nix, closure, root).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(IntegrityError);
      expect((err as Error).message).toContain(victim);
    } finally {
      await nix.close();
    }
    expect(await readdir(join(root, 'nix/store'))).toEqual([]);
  });
});
