// A small zstd NAR file decoded at once (decodeZstdInMemory), the way a closure of many small paths from a
// local cache is fetched: only once zstddec is loaded, into pieces that are copies (a later decode does not
// change them), stopped past its cap, after which the process decodes through the streams again. Its own
// file: a stop midway spoils zstddec for the rest of the process (zstd-stream.ts).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SizeLimitError } from '../../src/errors/index.js';
import { decodeZstdInMemory, loadZstdWasm } from '../../src/nix/zstd-stream.js';

const zstd = (b: Buffer): Buffer => execFileSync('zstd', ['-q', '-c'], { input: b });
/** 300 KiB that compress little: more than one of libzstd's 128 KiB output pieces. */
const payload = (seed: string): Buffer => Buffer.concat(Array.from({ length: 4800 }, (_, k) => createHash('sha512').update(`${seed}/${k}`).digest()));

describe('a small zstd file decoded at once', () => {
  it('is left to the streams until zstddec is loaded', () => {
    expect(decodeZstdInMemory(zstd(Buffer.from('x')), 10)).toBeUndefined();
  });

  it('decodes byte for byte into pieces that a later decode leaves alone', async () => {
    expect(await loadZstdWasm()).toBe(true);
    const a = payload('a');
    const pieces = decodeZstdInMemory(zstd(a), a.length) ?? [];
    expect(pieces.length).toBeGreaterThan(1);
    expect(Buffer.concat(pieces).equals(a)).toBe(true);
    const b = payload('b');
    expect(Buffer.concat(decodeZstdInMemory(zstd(b), b.length) ?? []).equals(b)).toBe(true);
    expect(Buffer.concat(pieces).equals(a)).toBe(true);
  });

  it('stops past its cap with SizeLimitError, and leaves the process to the streams after', () => {
    const a = payload('c');
    let err: unknown;
    try {
      decodeZstdInMemory(zstd(a), a.length - 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SizeLimitError);
    expect((err as Error).message).toMatch(new RegExp(`decompresses to more than ${a.length - 1} bytes`));
    expect(decodeZstdInMemory(zstd(a), a.length)).toBeUndefined();
  });
});
