// materialiseNixClosure's fileWriterFrom: a fetch of fewer NAR bytes than it writes every file itself and
// never asks for a writer (the CLI's small-file thread then never starts: src/fetch/nar-file-writer.ts,
// FILE_THREAD_FROM); from it on, each NAR asks for one. The writer here is the port's own stand-in, which
// hands nothing over, so the trees are the sinks' either way. Real Nix builds and signs the closure.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { materialiseNixClosure, openNixCache, parseNixPublicKey, parseStorePath, resolveNixClosure, type NarFileWriter, type NixTrustPolicy } from '../../src/nix/index.js';
import { buildNixClosure, nixDump, publishNixCache, type NixClosureFixture } from '../helpers/nix-closure.js';
import { makeScratch, type Scratch } from '../../scripts/world/tools.js';

let scratch: Scratch;
let fx: NixClosureFixture;
let trust: NixTrustPolicy;
let cache: string;
/** The closure's NAR bytes, from its narinfos' NarSize. */
let narBytes = 0;

beforeAll(async () => {
  scratch = await makeScratch('nix-file-writer-from');
  fx = await buildNixClosure(scratch.path, Array.from({ length: 3 }, (_, i) => ({ name: `lib-${i}`, blobBytes: 5_000 + i * 1_000 })));
  const k = parseNixPublicKey(fx.publicKey);
  trust = { keys: new Map([[k.name, k.key]]), threshold: 1 };
  cache = join(scratch.path, 'cache');
  await publishNixCache(fx, cache, 'none');
  for (const p of fx.paths) narBytes += Number(/^NarSize: (\d+)$/m.exec(await readFile(join(cache, `${parseStorePath(p).hash}.narinfo`), 'utf8'))?.[1]);
}, 180_000);
afterAll(async () => {
  await scratch.cleanup();
});

/** A writer that takes no file (the sink writes each itself), counting how many were asked for. */
function countingWriters(): { make: () => NarFileWriter; made: () => number } {
  let made = 0;
  const writer: NarFileWriter = {
    wants: () => false,
    add: () => Promise.reject(new Error('a file was handed over')),
    end: () => Promise.resolve(),
    settled: () => Promise.resolve(),
  };
  return {
    make: () => {
      made++;
      return writer;
    },
    made: () => made,
  };
}

describe('fileWriterFrom', () => {
  it.each([
    ['one byte more than the closure', 'no path', 1],
    ['the closure exactly', 'every path', 0],
  ] as const)('at %s: writers asked for by %s', async (_what, asked, more) => {
    expect(narBytes).toBeGreaterThan(0);
    const writers = countingWriters();
    const root = join(scratch.path, `root-${more}`);
    const nix = await openNixCache(`nix+file://${cache}`);
    try {
      await materialiseNixClosure(nix, await resolveNixClosure(nix, fx.top, trust), root, { fileWriter: writers.make, fileWriterFrom: narBytes + more });
    } finally {
      await nix.close();
    }
    expect(writers.made()).toBe(asked === 'no path' ? 0 : fx.paths.length);
    for (const p of fx.paths) expect((await nixDump(join(root, p), fx.dir)).equals(await nixDump(p, fx.dir))).toBe(true);
  });
});
