// Real Nix end to end: a closure built, signed and published by Nix itself (each compression, over a
// directory, HTTP and Ceph RGW) is fetched into a chroot root and every path compared byte for byte with
// `nix-store --dump` of the original.
import { lstat, mkdir, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localFirstCache, materialiseNixClosure, openNixCache, parseNarInfo, parseNixPublicKey, parseStorePath, resolveNixClosure, type NixCache, type NixTrustPolicy } from '../../src/nix/index.js';
import { BUFFERED_HTTP_FROM } from '../../src/nix/buffered-nar.js';
import { startHttpStoreServer } from '../helpers/http-store-server.js';
import { buildNixClosure, nixDump, publishNixCache, type NixClosureFixture, type NixCompressionName } from '../helpers/nix-closure.js';
import { overwriteS3Object, uploadNixCacheToS3 } from '../helpers/nix-s3-cache.js';
import { makeScratch, type Scratch } from '../../scripts/world/tools.js';

let scratch: Scratch;
let fx: NixClosureFixture;
let trust: NixTrustPolicy;
const caches = new Map<NixCompressionName, string>();
let roots = 0;

beforeAll(async () => {
  scratch = await makeScratch('nix');
  // The library's NAR over 1 MiB, the app's under it: over plain HTTP one takes the buffered read, the other not.
  fx = await buildNixClosure(scratch.path, [{ name: 'flotilla-lib', files: 5, blobBytes: 1_500_000 }]);
  const k = parseNixPublicKey(fx.publicKey);
  trust = { keys: new Map([[k.name, k.key]]), threshold: 1 };
  for (const c of ['none', 'xz', 'zstd', 'bzip2', 'gzip'] as const) {
    await publishNixCache(fx, join(scratch.path, `cache-${c}`), c);
    caches.set(c, join(scratch.path, `cache-${c}`));
  }
}, 120_000);
afterAll(() => scratch.cleanup());

const freshRoot = (): string => join(scratch.path, `root-${roots++}`);

async function fetchInto(url: string, root: string): Promise<Awaited<ReturnType<typeof materialiseNixClosure>>> {
  const cache = await openNixCache(url);
  try {
    const closure = await resolveNixClosure(cache, fx.top, trust);
    expect(closure.map((i) => i.storePath)).toEqual([...fx.libs, fx.top]);
    return await materialiseNixClosure(cache, closure, root);
  } finally {
    await cache.close();
  }
}

async function expectIdentical(root: string): Promise<void> {
  for (const p of fx.paths) {
    expect((await nixDump(join(root, p), scratch.path)).equals(await nixDump(p, scratch.path)), p).toBe(true);
  }
}

async function walk(dir: string): Promise<string[]> {
  const out = [dir];
  if ((await lstat(dir)).isDirectory()) for (const n of await readdir(dir)) out.push(...(await walk(join(dir, n))));
  return out;
}

describe('Nix binary cache published by nix copy', () => {
  it.each(['none', 'xz', 'zstd', 'bzip2', 'gzip'] as const)('%s: the closure lands byte-identical, then a second fetch is a no-op', async (c) => {
    const root = freshRoot();
    const r = await fetchInto(`nix+file://${caches.get(c)}`, root);
    expect(r.fetched).toEqual([...fx.libs, fx.top]);
    expect(r.present).toEqual([]);
    expect(r.narBytes).toBeGreaterThan(0);
    await expectIdentical(root);
    expect(await readdir(join(root, 'nix/store'))).toEqual(fx.paths.map((p) => p.slice('/nix/store/'.length)).sort());
    const again = await fetchInto(`nix+file://${caches.get(c)}`, root);
    expect(again).toEqual({ fetched: [], present: [...fx.libs, fx.top], narBytes: 0, fileBytes: 0 });
  });

  it('places paths read-only with mtime 1, like Nix, and keeps an escaping symlink as it is without following it', async () => {
    const root = freshRoot();
    await fetchInto(`nix+file://${caches.get('zstd')}`, root);
    const lib = join(root, fx.libs[0] ?? '');
    for (const p of await walk(join(root, 'nix/store'))) {
      if (p === join(root, 'nix/store')) continue;
      const st = await lstat(p);
      expect(st.mtimeMs, relative(root, p)).toBe(1000);
      if (st.isDirectory()) expect(st.mode & 0o777).toBe(0o555);
      else if (st.isFile()) expect([0o444, 0o555]).toContain(st.mode & 0o777);
    }
    expect((await stat(join(root, fx.top, 'bin/app'))).mode & 0o777).toBe(0o555);
    expect(await readlink(join(lib, 'lib/escaping-link'))).toBe('/etc/passwd');
    expect(await readFile(join(lib, 'lib/link'), 'utf8')).toMatch(/^[0-9a-f]{16}-\n$/);
  });

  it('only the paths the root lacks are fetched', async () => {
    const root = freshRoot();
    const cache = await openNixCache(`nix+file://${caches.get('xz')}`);
    try {
      const closure = await resolveNixClosure(cache, fx.top, trust);
      const first = await materialiseNixClosure(cache, closure.slice(0, 1), root);
      expect(first.fetched).toEqual(fx.libs);
      const rest = await materialiseNixClosure(cache, closure, root);
      expect(rest.fetched).toEqual([fx.top]);
      expect(rest.present).toEqual(fx.libs);
    } finally {
      await cache.close();
    }
    await expectIdentical(root);
  });

  it('a path that refers to itself, as most real outputs do, is fetched like any other and not taken for a cycle', async () => {
    const dir = join(scratch.path, 'self');
    await mkdir(dir);
    const self = await buildNixClosure(dir, [{ name: 'self-lib', selfReference: true }]);
    const cacheDir = join(dir, 'cache');
    await publishNixCache(self, cacheDir, 'zstd');
    const lib = self.libs[0] ?? '';
    const info = parseNarInfo(await readFile(join(cacheDir, `${parseStorePath(lib).hash}.narinfo`), 'utf8'), lib);
    expect(info.references).toContain(lib);
    const k = parseNixPublicKey(self.publicKey);
    const root = freshRoot();
    const cache = await openNixCache(`nix+file://${cacheDir}`);
    try {
      const closure = await resolveNixClosure(cache, self.top, { keys: new Map([[k.name, k.key]]), threshold: 1 });
      expect(closure.map((i) => i.storePath)).toEqual([lib, self.top]);
      await materialiseNixClosure(cache, closure, root);
    } finally {
      await cache.close();
    }
    for (const p of self.paths) expect((await nixDump(join(root, p), dir)).equals(await nixDump(p, dir)), p).toBe(true);
  }, 120_000);

  it('none from a directory: every NAR read by this process through reused buffers, byte-identical', async () => {
    const cache = await openNixCache(`nix+file://${caches.get('none')}`);
    try {
      const asked: string[] = [];
      const where = cache.narFilePath?.bind(cache);
      expect(where).toBeDefined();
      // Uncompressed, only the buffered read asks where a NAR file lies (buffered-nar.ts viaLocalFile).
      const counted: NixCache = { ...cache, narFilePath: (info) => (asked.push(info.storePath), where?.(info)) };
      const root = freshRoot();
      const closure = await resolveNixClosure(counted, fx.top, trust);
      await materialiseNixClosure(counted, closure, root);
      await expectIdentical(root);
      expect(asked.sort()).toEqual([...fx.libs, fx.top].sort());
    } finally {
      await cache.close();
    }
  });

  // Plain HTTP reads a NAR of 1 MiB or more through the store's one reused buffer (buffered-nar.ts):
  // uncompressed into the parser, compressed into the system tool's stdin; a smaller one through the
  // general client's pooled connections. Counted, so a fetch that took the other path would show here.
  it.each(['none', 'zstd', 'xz'] as const)('%s over HTTP (the project static server): the large NAR through the store\'s own read buffer, the small one not', async (c) => {
    const server = await startHttpStoreServer(caches.get(c) ?? '');
    const cache = await openNixCache(`nix+${server.url}`);
    try {
      const through: string[] = [];
      const readInto = cache.readNarFileInto?.bind(cache);
      expect(readInto).toBeDefined();
      const counted: NixCache = {
        ...cache,
        readNarFileInto: async (info, size, consume, o) => {
          const how = await (readInto as NonNullable<typeof readInto>)(info, size, consume, o);
          if (how === 'done') through.push(info.storePath);
          return how;
        },
      };
      const root = freshRoot();
      const closure = await resolveNixClosure(counted, fx.top, trust);
      await materialiseNixClosure(counted, closure, root);
      await expectIdentical(root);
      const large = closure.filter((i) => (i.fileSize ?? i.narSize) >= BUFFERED_HTTP_FROM).map((i) => i.storePath);
      expect(large).toEqual(fx.libs);
      expect(through).toEqual(large);
    } finally {
      await cache.close();
      await server.close();
    }
  });

  // The CLI and the agent read a cache through localFirstCache (kept narinfos first): it must pass both
  // buffered reads on to the cache it opens, or every NAR silently takes the slower stream path.
  it('through localFirstCache (as the CLI reads): the large NAR over HTTP through the reused buffer, every NAR from a directory by its file', async () => {
    const server = await startHttpStoreServer(caches.get('none') ?? '');
    try {
      for (const url of [`nix+${server.url}`, `nix+file://${caches.get('none') ?? ''}`]) {
        const cache = await openNixCache(url);
        const through: string[] = [];
        const asked: string[] = [];
        const readInto = cache.readNarFileInto?.bind(cache);
        const where = cache.narFilePath?.bind(cache);
        const counted: NixCache = {
          ...cache,
          ...(readInto === undefined
            ? {}
            : {
                readNarFileInto: async (info, size, consume, o) => {
                  const how = await readInto(info, size, consume, o);
                  if (how === 'done') through.push(info.storePath);
                  return how;
                },
              }),
          ...(where === undefined ? {} : { narFilePath: (info) => (asked.push(info.storePath), where(info)) }),
        };
        const root = freshRoot();
        const local = localFirstCache(url, () => Promise.resolve(counted), root, trust);
        try {
          const closure = await resolveNixClosure(local, fx.top, trust);
          await materialiseNixClosure(local, closure, root);
        } finally {
          await local.close();
        }
        await expectIdentical(root);
        if (url.startsWith('nix+http')) {
          expect(through, url).toEqual(fx.libs);
          expect(asked, url).toEqual([]);
        } else {
          expect(asked.sort(), url).toEqual([...fx.libs, fx.top].sort());
        }
      }
    } finally {
      await server.close();
    }
  });

  it('over S3 (Ceph RGW): the nix copy tree uploaded with the project store, as Debian nix-bin 2.8 has no S3 support', async () => {
    const s3 = await uploadNixCacheToS3(caches.get('xz') ?? '', 'cache/');
    const root = freshRoot();
    await fetchInto(`nix+${s3}`, root);
    await expectIdentical(root);
  });

  it('over S3 (Ceph RGW): a tampered NAR object in the bucket is refused, naming the path, and nothing is placed', async () => {
    const dir = caches.get('zstd') ?? '';
    const s3 = await uploadNixCacheToS3(dir, 'tampered/');
    const narinfo = await readFile(join(dir, `${fx.libs[0]?.slice('/nix/store/'.length, '/nix/store/'.length + 32)}.narinfo`), 'utf8');
    const url = /^URL: (.*)$/m.exec(narinfo)?.[1] ?? '';
    const bytes = await readFile(join(dir, url));
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0x01;
    await overwriteS3Object(s3, url, bytes);
    const root = freshRoot();
    await expect(fetchInto(`nix+${s3}`, root)).rejects.toThrow(fx.libs[0] ?? 'lib');
    expect(await readdir(join(root, 'nix/store')).catch(() => [])).toEqual([]);
  });
});
