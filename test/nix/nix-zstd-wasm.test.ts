// Small zstd streams decoded in the process: after the first few, by zstddec (libzstd in WebAssembly),
// byte for byte as fzstd; a broken stream fails rather than spins; and a decode stopped midway (whose
// WebAssembly memory zstddec cannot free) sends the rest of the process to fzstd. Which decoder ran shows in
// its error: zstddec's and ours are worded apart from fzstd's.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadZstdWasm, zstdStream } from '../../src/nix/zstd-stream.js';

const zstd = (b: Buffer): Buffer => execFileSync('zstd', ['-q', '-c'], { input: b });
const WHOLE = 256 * 1024;

/** What zstdStream makes of `input` (written in `pieces` chunks), or the error it fails with. */
async function decode(input: Buffer, max = Number.MAX_SAFE_INTEGER, pieces = 3): Promise<Buffer> {
  const out: Buffer[] = [];
  const step = Math.ceil(input.length / pieces);
  const chunks = Array.from({ length: pieces }, (_, i) => input.subarray(i * step, (i + 1) * step)).filter((c) => c.length > 0);
  await pipeline(Readable.from(chunks), zstdStream(max, WHOLE), async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) out.push(c);
  });
  return Buffer.concat(out);
}

/** A NAR-like payload, the same for the same `i`: some text, some incompressible bytes (as a small store path's files are). */
function payload(i: number): Buffer {
  const noise = Array.from({ length: 16 + i * 5 }, (_, k) => createHash('sha512').update(`${i}/${k}`).digest());
  return Buffer.concat([Buffer.from(`file ${i} `.repeat(200 + i * 37)), ...noise]);
}

describe('small zstd streams through zstddec', () => {
  it('loads zstddec through esm-import.cjs beside this module', async () => {
    expect(await loadZstdWasm()).toBe(true);
  });

  it('decodes many streams byte for byte, each written in pieces', async () => {
    for (let i = 0; i < 40; i++) {
      const p = payload(i);
      const got = await decode(zstd(p), Number.MAX_SAFE_INTEGER, 1 + (i % 5));
      expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(p).digest('hex'));
    }
  });

  it("refuses a truncated stream with zstddec's own error, and decodes the next one", async () => {
    const z = zstd(payload(3));
    await expect(decode(z.subarray(0, z.length - 7))).rejects.toThrow(/Incomplete stream/);
    expect((await decode(z)).equals(payload(3))).toBe(true);
  });

  it('fails a corrupt stream that zstddec would spin on, then decodes through fzstd', async () => {
    // Compressed blocks (text), every byte past the frame header's flipped: libzstd reports corruption,
    // which zstddec does not check.
    const text = Buffer.from('hello world, '.repeat(2000));
    const z = zstd(text);
    const bad = Buffer.from(z);
    for (let i = 10; i < bad.length; i++) bad[i] = (bad[i] as number) ^ 0x5a;
    await expect(decode(bad)).rejects.toThrow(/not a valid zstd stream: the decoder makes no progress/);
    // Stopped midway: from now on fzstd, whose error says so in its own words.
    await expect(decode(bad)).rejects.toThrow(/invalid zstd data/);
    expect((await decode(z)).equals(text)).toBe(true);
  });

  it('a stream longer than the whole-decode limit goes through fzstd as it comes', async () => {
    const big = randomBytes(WHOLE + 4096);
    expect((await decode(zstd(big), Number.MAX_SAFE_INTEGER, 9)).equals(big)).toBe(true);
  });
});

describe('the CLI bundles', () => {
  it('have esm-import.cjs beside them, which imports zstddec as an ES module', async () => {
    const req = createRequire(resolve('dist/bin/flotilla-fetch.js'));
    const importEsm = req('./esm-import.cjs') as (url: string) => Promise<{ ZSTDDecoder?: unknown }>;
    const mod = await importEsm(pathToFileURL(req.resolve('zstddec/stream')).href);
    expect(typeof mod.ZSTDDecoder).toBe('function');
  });
});
