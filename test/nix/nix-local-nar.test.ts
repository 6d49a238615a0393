// A compressed NAR in a local cache (nix+file://) is read by the system decompressor itself and its FileHash
// computed by `openssl dgst` reading the file too (src/nix/local-nar.ts); these are real Nix caches, real
// zstd and openssl (wrappers on PATH record that they ran). Every check the streamed path makes still
// holds, with the same errors, and nothing lands in the root when one fails. A small NAR (the app's) is
// decompressed in this process instead (decompress.ts): no tool runs for it, and it is checked the same.
import { chmod, cp, mkdir, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool } from '../../src/nix/decompress-tool.js';
import { IN_PROCESS_FILE_MAX } from '../../src/nix/decompress.js';
import { materialiseNixClosure, openNixCache, parseNixPublicKey, parseStorePath, resolveNixClosure, type NixTrustPolicy } from '../../src/nix/index.js';
import { buildNixClosure, nixDump, publishNixCache, tamperNarInfo, type NixClosureFixture } from '../helpers/nix-closure.js';
import { makeScratch, runTool, type Scratch } from '../../scripts/world/tools.js';

let scratch: Scratch;
let fx: NixClosureFixture;
let trust: NixTrustPolicy;
let pristine: string;
let log: string;
let n = 0;
const realPath = process.env['PATH'] ?? '';

beforeAll(async () => {
  scratch = await makeScratch('nix-local-nar');
  // The lib's blob (random base64, ~390 KB of zstd) keeps its NAR on the tools' path; the app's is small.
  fx = await buildNixClosure(scratch.path, [{ name: 'local-nar-lib', blobBytes: 512 * 1024 }]);
  const k = parseNixPublicKey(fx.publicKey);
  trust = { keys: new Map([[k.name, k.key]]), threshold: 1 };
  pristine = join(scratch.path, 'pristine');
  await publishNixCache(fx, pristine, 'zstd');
  // openssl behind a wrapper that logs each run, first on PATH.
  const bin = join(scratch.path, 'bin');
  await mkdir(bin);
  log = join(scratch.path, 'openssl.log');
  await writeFile(join(bin, 'openssl'), `#!/bin/sh\necho run >> ${log}\nexec ${findTool('openssl')} "$@"\n`);
  await chmod(join(bin, 'openssl'), 0o755);
  await writeFile(join(bin, 'zstd'), `#!/bin/sh\necho zstd >> ${log}\nexec ${findTool('zstd')} "$@"\n`);
  await chmod(join(bin, 'zstd'), 0o755);
  process.env['PATH'] = `${bin}:${realPath}`;
}, 120_000);
afterAll(async () => {
  process.env['PATH'] = realPath;
  await scratch.cleanup();
});

const lib = (): string => fx.libs[0] ?? '';
const narinfoFile = (cache: string, p: string): string => join(cache, `${parseStorePath(p).hash}.narinfo`);
async function narFile(cache: string, p: string): Promise<string> {
  const url = /^URL: (.*)$/m.exec(await readFile(narinfoFile(cache, p), 'utf8'))?.[1] ?? '';
  return join(cache, url);
}
const logged = async (what: string): Promise<number> => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter((l) => l === what).length;
/** openssl's runs so far. */
const runs = (): Promise<number> => logged('run');
/** zstd's runs so far. */
const zstdRuns = (): Promise<number> => logged('zstd');
const fileSize = async (cache: string, p: string): Promise<number> => Number(/^FileSize: (\d+)$/m.exec(await readFile(narinfoFile(cache, p), 'utf8'))?.[1]);
const app = (): string => fx.top;

/** A copy of the pristine cache spoiled by `spoil`, fetched into a fresh root: what was placed, or the error. */
async function fetchFrom(spoil: (cache: string) => Promise<void> = () => Promise.resolve()): Promise<{ root: string; err?: Error & { code?: string }; placed: string[] }> {
  const cache = join(scratch.path, `cache-${n}`);
  const root = join(scratch.path, `root-${n++}`);
  await cp(pristine, cache, { recursive: true });
  await spoil(cache);
  const c = await openNixCache(`nix+file://${cache}`);
  let err: (Error & { code?: string }) | undefined;
  try {
    await materialiseNixClosure(c, await resolveNixClosure(c, fx.top, trust), root);
  } catch (e) {
    err = e as Error & { code?: string };
  } finally {
    await c.close();
  }
  return { root, ...(err ? { err } : {}), placed: await readdir(join(root, 'nix/store')).catch(() => []) };
}

describe('local zstd NARs read by the tools themselves', () => {
  it('places the closure byte for byte; the tools run for the large lib only, the small app is decompressed here', async () => {
    expect(await fileSize(pristine, lib())).toBeGreaterThan(IN_PROCESS_FILE_MAX);
    expect(await fileSize(pristine, app())).toBeLessThanOrEqual(IN_PROCESS_FILE_MAX);
    expect(fx.paths.length).toBe(2);
    const before = { ssl: await runs(), zstd: await zstdRuns() };
    const r = await fetchFrom();
    expect(r.err).toBeUndefined();
    expect(await runs()).toBe(before.ssl + 1);
    expect(await zstdRuns()).toBe(before.zstd + 1);
    for (const p of fx.paths) {
      const want = await nixDump(p, fx.dir);
      expect(want.length).toBeGreaterThan(0);
      expect((await nixDump(join(r.root, p), fx.dir)).equals(want)).toBe(true);
    }
  });

  it.each<[string, string, (c: string) => Promise<void>, RegExp]>([
    ['a FileHash that is not the file\'s', 'IntegrityError', (c) => tamperNarInfo(c, lib(), (t) => t.replace(/^FileHash: sha256:(.)/m, (_m, ch: string) => `FileHash: sha256:${ch === '0' ? '1' : '0'}`)), /FileHash is sha256:\S+, narinfo says sha256:/],
    ['a FileSize above the file\'s', 'IntegrityError', (c) => tamperNarInfo(c, lib(), (t) => t.replace(/^FileSize: (\d+)$/m, (_m, s: string) => `FileSize: ${Number(s) + 1}`)), /the file has \d+ bytes, FileSize says \d+/],
    ['a file larger than its FileSize', 'SizeLimitError', (c) => tamperNarInfo(c, lib(), (t) => t.replace(/^FileSize: (\d+)$/m, (_m, s: string) => `FileSize: ${Number(s) - 1}`)), /NAR file of .* is larger than \d+ bytes/],
    ['a truncated file (no File fields to catch it)', 'IntegrityError', async (c) => {
      const f = await narFile(c, lib());
      await truncate(f, (await readFile(f)).length - 40);
      await tamperNarInfo(c, lib(), (t) => t.split('\n').filter((l) => !/^File(Hash|Size):/.test(l)).join('\n'));
    }, /does not decompress: .*zstd/],
  ])('refuses %s, naming the path, and places nothing', async (_name, code, spoil, message) => {
    const r = await fetchFrom(spoil);
    expect(r.err?.code, r.err?.message).toBe(code);
    expect(r.err?.message).toContain(lib());
    expect(r.err?.message).toMatch(message);
    expect(r.placed).toEqual([]);
  });

  // The app's NAR, decompressed in this process, is held to the same checks.
  it.each<[string, string, (c: string) => Promise<void>, RegExp]>([
    ['a FileHash that is not the file\'s', 'IntegrityError', (c) => tamperNarInfo(c, app(), (t) => t.replace(/^FileHash: sha256:(.)/m, (_m, ch: string) => `FileHash: sha256:${ch === '0' ? '1' : '0'}`)), /FileHash is sha256:\S+, narinfo says sha256:/],
    ['a file larger than its FileSize', 'SizeLimitError', (c) => tamperNarInfo(c, app(), (t) => t.replace(/^FileSize: (\d+)$/m, (_m, s: string) => `FileSize: ${Number(s) - 1}`)), /NAR file of .* is larger than \d+ bytes/],
    // FileSize kept (without it the tool decompresses), FileHash dropped so that the decompression's own error shows.
    ['a truncated file', 'IntegrityError', async (c) => {
      const f = await narFile(c, app());
      const size = (await readFile(f)).length - 20;
      await truncate(f, size);
      await tamperNarInfo(c, app(), (t) => t.split('\n').filter((l) => !/^FileHash:/.test(l)).join('\n').replace(/^FileSize: \d+$/m, `FileSize: ${size}`));
    }, /does not decompress: /],
    // Signed by the publisher's key: only the size is wrong.
    ['a NarSize below what the file decompresses to', 'SizeLimitError', (c) => tamperNarInfo(c, app(), (t) => t.replace(/^NarSize: (\d+)$/m, (_m, s: string) => `NarSize: ${Number(s) - 8}`), fx.secretKeyFile), /more than \d+ bytes|larger than its NarSize/],
  ])('refuses, in the small NAR decompressed here, %s, naming the path, and places nothing', async (_name, code, spoil, message) => {
    const before = await zstdRuns();
    const r = await fetchFrom(spoil);
    expect(r.err?.code, r.err?.message).toBe(code);
    expect(r.err?.message).toContain(app());
    expect(r.err?.message).toMatch(message);
    expect(r.placed).toEqual([]);
    expect(await zstdRuns()).toBeLessThanOrEqual(before + 1); // the lib's, if it was read before the refusal
  });

  it('a FIFO in a NAR file\'s place is refused as not a regular file, without waiting for a writer', async () => {
    const r = await fetchFrom(async (c) => {
      const f = await narFile(c, lib());
      await rm(f);
      await runTool('mkfifo', [f]);
    });
    expect(r.err?.code, r.err?.message).toBe('IntegrityError');
    expect(r.err?.message).toMatch(/NAR file of .* is not a regular file/);
    expect(r.placed).toEqual([]);
  });

  // A small NAR file is read at once by this process (local-nar.ts readLocalSmallNar), not by the tools.
  it('a FIFO in a small NAR file\'s place is refused as not a regular file, without waiting for a writer', async () => {
    const r = await fetchFrom(async (c) => {
      const f = await narFile(c, app());
      await rm(f);
      await runTool('mkfifo', [f]);
    });
    expect(r.err?.code, r.err?.message).toBe('IntegrityError');
    expect(r.err?.message).toMatch(/NAR file of .* is not a regular file/);
    expect(r.err?.message).toContain(app());
    expect(r.placed).toEqual([]);
  });

  // Uncompressed, a NAR is read by this process (buffered-nar.ts viaLocalFile), not by the tools.
  it('a FIFO in an uncompressed NAR file\'s place is refused as not a regular file, without waiting for a writer', async () => {
    const plain = join(scratch.path, `plain-${n}`);
    await publishNixCache(fx, plain, 'none');
    const r = await fetchFrom(async (c) => {
      await rm(c, { recursive: true });
      await cp(plain, c, { recursive: true });
      const f = await narFile(c, lib());
      await rm(f);
      await runTool('mkfifo', [f]);
    });
    expect(r.err?.code, r.err?.message).toBe('IntegrityError');
    expect(r.err?.message).toMatch(/NAR file of .* is not a regular file/);
    expect(r.err?.message).toContain(lib());
    expect(r.placed).toEqual([]);
  });

  it('a NAR file that is a symlink is not opened by the tools: the streamed path reads it', async () => {
    const before = await runs();
    const r = await fetchFrom(async (c) => {
      const f = await narFile(c, lib());
      await cp(f, `${f}.real`);
      await rm(f);
      await symlink(`${f}.real`, f);
    });
    expect(r.err).toBeUndefined();
    // The symlinked lib's NAR was streamed here, not opened by the tools; the app's is small (decompressed here).
    expect(await runs()).toBe(before);
  });

  it('without openssl on PATH the NAR is streamed and checked here, with the same result', async () => {
    const noSsl = join(scratch.path, 'bin-no-openssl');
    await mkdir(noSsl);
    await symlink(findTool('zstd', realPath) ?? '/usr/bin/zstd', join(noSsl, 'zstd'));
    const before = await runs();
    process.env['PATH'] = `${noSsl}:/nonexistent`;
    try {
      const ok = await fetchFrom();
      expect(ok.err).toBeUndefined();
      expect(ok.placed.length).toBe(fx.paths.length);
      const bad = await fetchFrom((c) => tamperNarInfo(c, lib(), (t) => t.replace(/^FileHash: sha256:(.)/m, (_m, ch: string) => `FileHash: sha256:${ch === '0' ? '1' : '0'}`)));
      expect(bad.err?.message).toMatch(/FileHash is sha256:\S+, narinfo says/);
    } finally {
      process.env['PATH'] = `${join(scratch.path, 'bin')}:${realPath}`;
    }
    expect(await runs()).toBe(before);
  });
});
