// The NAR decompressors: the system's zstd/xz/bzip2 tools (the fast path) and the npm libraries (the
// fallback) give the same NAR from what `nix copy` wrote, and a corrupt compressed NAR is refused with an
// error naming the store path, nothing placed.
import { createHash } from 'node:crypto';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { closeSync, createReadStream, openSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDecompressor,
  decompressorSourceFor,
  formatSha256,
  IN_PROCESS_FILE_MAX,
  IN_PROCESS_NAR_MAX,
  materialiseNixClosure,
  openNixCache,
  parseNarInfo,
  parseNixPublicKey,
  parseStorePath,
  resolveNixClosure,
  systemDecompressor,
  spawnToolReader,
  type DecompressorSource,
  type NixTrustPolicy,
} from '../../src/nix/index.js';
import { startHttpStoreServer } from '../helpers/http-store-server.js';
import { buildNixClosure, nixDump, publishNixCache, type NixClosureFixture } from '../helpers/nix-closure.js';
import { makeScratch, runTool, type Scratch } from '../../scripts/world/tools.js';

const COMPRESSIONS = ['zstd', 'xz', 'bzip2'] as const;
let scratch: Scratch;
let fx: NixClosureFixture;
let trust: NixTrustPolicy;

beforeAll(async () => {
  scratch = await makeScratch('nix-decompress');
  fx = await buildNixClosure(scratch.path, [{ name: 'flotilla-lib', blobBytes: 3_000_000, files: 20 }]);
  const k = parseNixPublicKey(fx.publicKey);
  trust = { keys: new Map([[k.name, k.key]]), threshold: 1 };
  for (const c of COMPRESSIONS) await publishNixCache(fx, join(scratch.path, `cache-${c}`), c);
}, 120_000);
afterAll(() => scratch.cleanup());

const lib = (): string => fx.libs[0] ?? '';

async function narOf(cache: string, storePath: string): Promise<{ file: string; narHash: string; narSize: number }> {
  const info = parseNarInfo(await readFile(join(cache, `${parseStorePath(storePath).hash}.narinfo`), 'utf8'), storePath);
  return { file: join(cache, info.url), narHash: info.narHash, narSize: info.narSize };
}

/** `file` decompressed by the system tool, as a fetch runs it (tool-reader.ts), or by this process's libraries. */
async function decompress(file: string, compression: (typeof COMPRESSIONS)[number], source: DecompressorSource): Promise<{ narHash: string; narSize: number }> {
  const h = createHash('sha256');
  let narSize = 0;
  if (source === 'system') {
    const tool = systemDecompressor(compression);
    if (tool === null) throw new Error(`no ${compression} tool`);
    const fd = openSync(file, 'r');
    try {
      const reader = await spawnToolReader(tool.file, tool.args, { stdin: fd, cap: 1 << 30, tooBig: () => new Error('too big') });
      await reader.drain((v) => {
        h.update(v);
        narSize += v.length;
        return undefined;
      });
    } finally {
      closeSync(fd);
    }
    return { narHash: formatSha256(h.digest()), narSize };
  }
  await pipeline(createReadStream(file), createDecompressor(compression, source), async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) {
      h.update(c);
      narSize += c.length;
    }
  });
  return { narHash: formatSha256(h.digest()), narSize };
}

describe('NAR decompression', () => {
  it.each(COMPRESSIONS)('%s: the system tool is installed (scripts/install-test-deps.sh) and is what a fetch uses', (c) => {
    expect(systemDecompressor(c)?.file).toMatch(new RegExp(`/(zstd|xz|bzip2)$`));
  });

  it.each(COMPRESSIONS.flatMap((c) => (['system', 'library'] as const).map((s) => [c, s] as const)))('%s through the %s decompressor gives the signed NAR', async (c, source) => {
    const nar = await narOf(join(scratch.path, `cache-${c}`), lib());
    expect(await decompress(nar.file, c, source)).toEqual({ narHash: nar.narHash, narSize: nar.narSize });
  });

  it.each(COMPRESSIONS.flatMap((c) => (['system', 'library'] as const).map((s) => [c, s] as const)))('%s: a corrupt stream fails the %s decompressor', async (c, source) => {
    const nar = await narOf(join(scratch.path, `cache-${c}`), lib());
    const bytes = await readFile(nar.file);
    bytes.fill(0x55, 40, 400);
    const bad = join(scratch.path, `bad-${c}-${source}`);
    await writeFile(bad, bytes);
    await expect(decompress(bad, c, source)).rejects.toThrow();
  });

  it('a small zstd or xz NAR (FileSize and NarSize both within the limits) is decompressed in this process; anything else by the tool', () => {
    const at = { fileSize: IN_PROCESS_FILE_MAX, narSize: IN_PROCESS_NAR_MAX };
    expect(decompressorSourceFor({ compression: 'zstd', ...at })).toBe('library');
    expect(decompressorSourceFor({ compression: 'xz', ...at })).toBe('library');
    expect(decompressorSourceFor({ compression: 'zstd', ...at, fileSize: IN_PROCESS_FILE_MAX + 1 })).toBe('system');
    expect(decompressorSourceFor({ compression: 'xz', ...at, narSize: IN_PROCESS_NAR_MAX + 1 })).toBe('system');
    // Without a FileSize nothing bounds what is read: the tool, whose pipe gives backpressure.
    expect(decompressorSourceFor({ compression: 'zstd', narSize: 1000 })).toBe('system');
    // bzip2 has only a pure-JS library; gzip is always Node's zlib; none needs nothing.
    expect(decompressorSourceFor({ compression: 'bzip2', ...at })).toBe('system');
  });

  it('zstd in this process stops a stream that expands past its cap inside the push, before holding it', async () => {
    // 64 MiB of zeros make a few KiB of zstd: one push would otherwise hand out all 64 MiB at once.
    const bomb = join(scratch.path, 'bomb.zst');
    await runTool('sh', ['-c', `head -c 67108864 /dev/zero | zstd -q -19 -o ${bomb}`]);
    expect((await readFile(bomb)).length).toBeLessThan(IN_PROCESS_FILE_MAX);
    let seen = 0;
    const run = pipeline(createReadStream(bomb), createDecompressor('zstd', 'library', 1 << 20), async (src: AsyncIterable<Buffer>) => {
      for await (const c of src) seen += c.length;
    });
    await expect(run).rejects.toMatchObject({ code: 'SizeLimitError', message: expect.stringMatching(/decompresses to more than 1048576 bytes/) as unknown });
    expect(seen).toBeLessThanOrEqual(1 << 20);
  });

  it('xz in this process is fed in small slices, so a stream that expands a lot still comes out whole and in order', async () => {
    const src = join(scratch.path, 'slices.xz');
    await runTool('sh', ['-c', `(head -c 3000000 /dev/zero; seq 1 200000) | xz -q -6 > ${src}`]);
    const want = createHash('sha256');
    want.update(Buffer.alloc(3_000_000));
    want.update((await runTool('seq', ['1', '200000'])));
    const got = createHash('sha256');
    await pipeline(createReadStream(src, { highWaterMark: 64 * 1024 }), createDecompressor('xz', 'library'), async (s: AsyncIterable<Buffer>) => {
      for await (const c of s) got.update(c);
    });
    expect(got.digest('hex')).toBe(want.digest('hex'));
  });

  it('xz in this process holds little of a stream that expands a lot: it is fed a slice at a time, not a whole read', async () => {
    // 128 MiB of zeros make ~20 KB of xz, one read: fed whole, lzma-native turned it into 128 MiB held at
    // once (134 MB of buffers seen), fed in slices 28 MB.
    const bomb = join(scratch.path, 'bomb.xz');
    await runTool('sh', ['-c', `head -c 134217728 /dev/zero | xz -q -1 > ${bomb}`]);
    const base = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let seen = 0;
    const run = pipeline(createReadStream(bomb, { highWaterMark: 64 * 1024 }), createDecompressor('xz', 'library'), async (src: AsyncIterable<Buffer>) => {
      for await (const c of src) {
        seen += c.length;
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
        if (seen > 16 << 20) throw new Error('enough');
      }
    });
    await expect(run).rejects.toThrow('enough');
    expect(peak).toBeLessThan(64 << 20);
  });

  // Without a FileSize, over plain HTTP, a NAR is streamed into the tool as from S3 or HTTPS (a client's own
  // buffers, viaStream in buffered-nar.ts), its output read into reused buffers all the same.
  it.each(COMPRESSIONS)('%s over HTTP without a FileSize (the stream path of S3 and HTTPS caches): placed byte for byte through the tool', async (c) => {
    const cache = join(scratch.path, `nofilesize-${c}`);
    await cp(join(scratch.path, `cache-${c}`), cache, { recursive: true });
    const infoFile = join(cache, `${parseStorePath(lib()).hash}.narinfo`);
    await writeFile(infoFile, (await readFile(infoFile, 'utf8')).split('\n').filter((l) => !/^File(Hash|Size):/.test(l)).join('\n'));
    const root = join(scratch.path, `root-nofilesize-${c}`);
    const server = await startHttpStoreServer(cache);
    const cacheHandle = await openNixCache(`nix+${server.url}`);
    try {
      const closure = await resolveNixClosure(cacheHandle, fx.top, trust);
      expect(closure.find((i) => i.storePath === lib())?.fileSize).toBeUndefined();
      await materialiseNixClosure(cacheHandle, closure, root);
    } finally {
      await cacheHandle.close();
      await server.close();
    }
    const placed = await nixDump(join(root, lib()), scratch.path);
    expect(placed.equals(await nixDump(lib(), fx.dir))).toBe(true);
  });

  // Over plain HTTP the compressed bytes go from the reader's one buffer into the tool's stdin
  // (buffered-nar.ts decodeToolNar), and without a FileSize from the response's stream: the tool's failure
  // must stop the read there too.
  it.each(COMPRESSIONS.flatMap((c) => (['file', 'http', 'http without FileSize'] as const).map((t) => [c, t] as const)))('%s over %s: a fetch of a corrupt compressed NAR (narinfo intact) fails naming the store path and places nothing', async (c, transport) => {
    const cache = join(scratch.path, `corrupt-${c}-${transport.replaceAll(' ', '-')}`);
    await cp(join(scratch.path, `cache-${c}`), cache, { recursive: true });
    const nar = await narOf(cache, lib());
    const bytes = await readFile(nar.file);
    bytes.fill(0x55, 40, 400);
    // The narinfo's FileHash would catch the change, but only at the end: drop it so the decompressor's
    // error is what shows. FileSize stays (the bytes are as many), so HTTP reads through the buffer.
    const infoFile = join(cache, `${parseStorePath(lib()).hash}.narinfo`);
    const drop = transport === 'http without FileSize' ? /^File(Hash|Size):/ : /^FileHash:/;
    await writeFile(infoFile, (await readFile(infoFile, 'utf8')).split('\n').filter((l) => !drop.test(l)).join('\n'));
    await writeFile(nar.file, bytes);
    const root = join(scratch.path, `root-corrupt-${c}-${transport.replaceAll(' ', '-')}`);
    const server = transport === 'file' ? undefined : await startHttpStoreServer(cache);
    const cacheHandle = await openNixCache(server === undefined ? `nix+file://${cache}` : `nix+${server.url}`);
    try {
      const closure = await resolveNixClosure(cacheHandle, fx.top, trust);
      const err = (await materialiseNixClosure(cacheHandle, closure, root).then(
        () => undefined,
        (e: unknown) => e,
      )) as (Error & { code?: string }) | undefined;
      expect(err?.message).toContain(lib());
      expect(err?.name).toBe('IntegrityError');
    } finally {
      await cacheHandle.close();
      await server?.close();
    }
    expect(await readdir(join(root, 'nix/store'))).toEqual([]);
  });
});
