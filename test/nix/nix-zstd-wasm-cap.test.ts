// A decompression bomb decoded by zstddec is stopped once its output passes the cap, in pieces of at most
// libzstd's output buffer: a few hundred bytes that say 64 MiB never become 64 MiB in memory. (Its own file:
// the stop sends the rest of the process to fzstd, see nix-zstd-wasm.test.ts.)
import { execFileSync } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { SizeLimitError } from '../../src/errors/index.js';
import { loadZstdWasm, zstdStream } from '../../src/nix/zstd-stream.js';

describe('zstddec under a cap', () => {
  it('refuses a stream that decompresses past the cap with SizeLimitError, holding little', async () => {
    expect(await loadZstdWasm()).toBe(true);
    const bomb = execFileSync('zstd', ['-q', '-c', '-19'], { input: Buffer.alloc(64 << 20) });
    expect(bomb.length).toBeLessThan(64 * 1024);
    let seen = 0;
    const rssBefore = process.memoryUsage().rss;
    const sink = new Writable({
      write(chunk: Buffer, _e, done): void {
        seen += chunk.length;
        done();
      },
    });
    const err = await pipeline(Readable.from([bomb]), zstdStream(1 << 20, 256 * 1024), sink).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SizeLimitError);
    expect((err as Error).message).toMatch(/decompresses to more than 1048576 bytes/);
    expect(seen).toBeLessThanOrEqual(1 << 20);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(48 << 20);
  });
});
