// Tampered Nix caches are refused with an error naming the store path, and nothing lands in the root:
// each case below would pass if its check were deleted from src/nix.
import { appendFile, cp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { materialiseNixClosure, openNixCache, parseNixPublicKey, parseStorePath, resolveNixClosure, type NixTrustPolicy } from '../../src/nix/index.js';
import { startHttpStoreServer } from '../helpers/http-store-server.js';
import { buildNixClosure, generateNixKey, nixEnv, publishNixCache, tamperNarInfo, type NixClosureFixture } from '../helpers/nix-closure.js';
import { makeScratch, runTool, type Scratch } from '../../scripts/world/tools.js';

let scratch: Scratch;
let fx: NixClosureFixture;
let trust: NixTrustPolicy;
let pristine: string;
let n = 0;

beforeAll(async () => {
  scratch = await makeScratch('nix-tamper');
  // Over 1 MiB, so over plain HTTP the library's NAR is read through the store's buffer (buffered-nar.ts).
  fx = await buildNixClosure(scratch.path, [{ name: 'flotilla-lib', blobBytes: 1_200_000 }]);
  const k = parseNixPublicKey(fx.publicKey);
  trust = { keys: new Map([[k.name, k.key]]), threshold: 1 };
  pristine = join(scratch.path, 'pristine');
  await publishNixCache(fx, pristine, 'none');
}, 120_000);
afterAll(() => scratch.cleanup());

const lib = (): string => fx.libs[0] ?? '';
const narinfoFile = (cache: string, p: string): string => join(cache, `${parseStorePath(p).hash}.narinfo`);
async function narFile(cache: string, p: string): Promise<string> {
  const url = /^URL: (.*)$/m.exec(await readFile(narinfoFile(cache, p), 'utf8'))?.[1] ?? '';
  return join(cache, url);
}
const dropFileFields = (t: string): string => t.split('\n').filter((l) => !/^File(Hash|Size):/.test(l)).join('\n');

/**
 * A fresh copy of the pristine cache, tampered by `spoil`, then fetched from the directory or over plain
 * HTTP (the project's static server: a NAR whose FileSize is right is read through the store's one
 * buffer, fetch-nar.ts); resolves to the error thrown.
 */
async function refusal(spoil: (cache: string) => Promise<void>, policy: NixTrustPolicy = trust, over: 'file' | 'http' = 'file'): Promise<{ err: Error & { code?: string }; root: string }> {
  const cache = join(scratch.path, `cache-${n}`);
  const root = join(scratch.path, `root-${n++}`);
  await cp(pristine, cache, { recursive: true });
  await spoil(cache);
  const server = over === 'http' ? await startHttpStoreServer(cache) : undefined;
  // A long idle deadline: a read left waiting on a parser that stopped would hang the test rather than end
  // at the deadline with the parser's error.
  const c = await openNixCache(server === undefined ? `nix+file://${cache}` : `nix+${server.url}?idleTimeout=10m`);
  try {
    const closure = await resolveNixClosure(c, fx.top, policy);
    await materialiseNixClosure(c, closure, root);
  } catch (err) {
    return { err: err as Error, root };
  } finally {
    await c.close();
    await server?.close();
  }
  throw new Error('the tampered cache was accepted');
}

async function placed(root: string): Promise<string[]> {
  try {
    return await readdir(join(root, 'nix/store'));
  } catch {
    return [];
  }
}

describe('tampered Nix caches', () => {
  it.each([
    ['no trusted signature', 'SignatureError', (): Promise<void> => Promise.resolve(), { keys: new Map([['other', Buffer.alloc(32, 7)]]), threshold: 1 }],
    ['a threshold above the signers', 'SignatureError', (): Promise<void> => Promise.resolve(), undefined],
  ] as const)('%s', async (_name, code, spoil, policy) => {
    const p = policy ?? { ...trust, threshold: 2 };
    const { err, root } = await refusal(spoil, p);
    expect(err.code).toBe(code);
    expect(err.message).toContain(fx.top);
    expect(await placed(root)).toEqual([]);
  });

  it('counts distinct trusted keys: one key signing twice is one signer, two keys meet a threshold of 2', async () => {
    // Every narinfo carries its one key's Sig line twice: counted as lines, the closure would pass.
    const twice = (t: string): string => `${t.trimEnd()}\n${/^Sig: .*$/m.exec(t)?.[0] ?? ''}\n`;
    const { err, root } = await refusal(async (c) => {
      for (const p of fx.paths) await tamperNarInfo(c, p, twice);
    }, { ...trust, threshold: 2 });
    expect(err.code, err.message).toBe('SignatureError');
    expect(err.message).toContain(fx.top);
    expect(await placed(root)).toEqual([]);
    // A second key signs the closure with real Nix, and nix copy publishes both signatures.
    const second = await generateNixKey(scratch.path);
    await runTool('nix', ['store', 'sign', '-k', second.secretKeyFile, '-r', fx.top], { env: nixEnv(scratch.path) });
    const twoSigned = join(scratch.path, `cache-${n++}`);
    await publishNixCache(fx, twoSigned, 'none');
    const k2 = parseNixPublicKey(second.publicKey);
    const c = await openNixCache(`nix+file://${twoSigned}`);
    try {
      const closure = await resolveNixClosure(c, fx.top, { keys: new Map([...trust.keys, [k2.name, k2.key]]), threshold: 2 });
      expect(closure.map((i) => i.storePath)).toEqual([...fx.libs, fx.top]);
    } finally {
      await c.close();
    }
  });

  const cases: [string, string, (c: string) => Promise<void>, () => string, RegExp][] = [
    ['a signature over other fields (NarSize changed)', 'SignatureError', (c) => tamperNarInfo(c, lib(), (t) => t.replace(/^NarSize: (\d+)$/m, (_m, s: string) => `NarSize: ${Number(s) + 8}`)), lib, /valid signature/],
    ['a reference added after signing', 'SignatureError', (c) => tamperNarInfo(c, fx.top, (t) => t.replace(/^References: (.*)$/m, (_m, r: string) => `References: ${r} ${parseStorePath(fx.top).hash}-flotilla-app`)), () => fx.top, /valid signature/],
    ['a NAR whose hash differs (same size, signed narinfo)', 'IntegrityError', async (c) => {
      const f = await narFile(c, lib());
      const b = await readFile(f);
      const i = b.indexOf(Buffer.from('file 0 '));
      b[i] = 'F'.charCodeAt(0);
      await writeFile(f, b);
      await tamperNarInfo(c, lib(), dropFileFields);
    }, lib, /signed NarHash/],
    ['a NAR whose hash differs, FileSize kept (same size)', 'IntegrityError', async (c) => {
      const f = await narFile(c, lib());
      const b = await readFile(f);
      b[b.indexOf(Buffer.from('file 0 '))] = 'F'.charCodeAt(0);
      await writeFile(f, b);
      await tamperNarInfo(c, lib(), (t) => t.replace(/^FileHash:.*\n/m, ''));
    }, lib, /signed NarHash/],
    // The parser stops at the bad token, mid-file: the read must stop with it, not hang or read on.
    ['a malformed NAR of the signed size (a token changed)', 'IntegrityError', async (c) => {
      const f = await narFile(c, lib());
      const b = await readFile(f);
      const at = b.lastIndexOf(Buffer.from('contents'));
      b.write('contentz', at, 'latin1');
      await writeFile(f, b);
      await tamperNarInfo(c, lib(), (t) => t.replace(/^FileHash:.*\n/m, ''));
    }, lib, /expected "contents", found "contentz"/],
    ['a compressed file whose FileHash differs', 'IntegrityError', async (c) => {
      const f = await narFile(c, lib());
      const b = await readFile(f);
      b[b.indexOf(Buffer.from('file 0 '))] = 'F'.charCodeAt(0);
      await writeFile(f, b);
    }, lib, /FileHash/],
    ['a truncated download', 'IntegrityError', async (c) => {
      const f = await narFile(c, lib());
      await truncate(f, (await readFile(f)).length - 40);
      await tamperNarInfo(c, lib(), dropFileFields);
    }, lib, /truncated/],
    ['an oversized download (bytes past NarSize)', 'SizeLimitError', async (c) => {
      await appendFile(await narFile(c, lib()), Buffer.alloc(64));
      await tamperNarInfo(c, lib(), dropFileFields);
    }, lib, /larger than its NarSize/],
    ['a file larger than its FileSize', 'SizeLimitError', async (c) => {
      await appendFile(await narFile(c, lib()), Buffer.alloc(64));
    }, lib, /NAR file of .*(larger than|over the limit)/],
    // The app's NAR is under IN_PROCESS_FILE_MAX: over HTTP it is read into one buffer and parsed from
    // memory (fetch-nar.ts), where the lib's larger one streams.
    ['a small NAR whose hash differs (read whole)', 'IntegrityError', async (c) => {
      const f = await narFile(c, fx.top);
      const b = await readFile(f);
      const at = b.lastIndexOf(Buffer.from('contents')) + 24;
      b[at] = (b[at] as number) ^ 0x01;
      await writeFile(f, b);
      await tamperNarInfo(c, fx.top, dropFileFields);
    }, () => fx.top, /signed NarHash/],
    ['a small NAR cut short (read whole)', 'IntegrityError', async (c) => {
      const f = await narFile(c, fx.top);
      await truncate(f, (await readFile(f)).length - 40);
      await tamperNarInfo(c, fx.top, dropFileFields);
    }, () => fx.top, /truncated/],
    ['a small NAR with bytes past its NarSize (read whole)', 'SizeLimitError', async (c) => {
      await appendFile(await narFile(c, fx.top), Buffer.alloc(64));
      await tamperNarInfo(c, fx.top, dropFileFields);
    }, () => fx.top, /larger than its NarSize/],
    ['a small NAR file larger than its FileSize (read whole)', 'SizeLimitError', async (c) => {
      await appendFile(await narFile(c, fx.top), Buffer.alloc(64));
    }, () => fx.top, /NAR file of .*(larger than|over the limit)/],
    ['a narinfo whose StorePath differs from its file name', 'IntegrityError', async (c) => {
      await writeFile(narinfoFile(c, lib()), await readFile(narinfoFile(c, fx.top)));
    }, lib, /StorePath is/],
    ['a reference cycle (signed)', 'IntegrityError', (c) => tamperNarInfo(c, lib(), (t) => t.replace(/^References:.*$/m, `References: ${fx.top.slice('/nix/store/'.length)}`), fx.secretKeyFile), lib, /reference cycle/],
    ['a missing reference', 'NotFoundError', (c) => rm(narinfoFile(c, lib())), lib, /referenced by/],
    ['a missing NAR file', 'NotFoundError', async (c) => rm(await narFile(c, lib())), lib, /missing/],
  ];
  // nix-cache-info is read before any narinfo: a cache for another store dir would place paths whose
  // references point outside /nix/store.
  it.each<[string, string, (info: string) => string | undefined, RegExp]>([
    ['a cache for another store dir', 'ConfigError', (t) => t.replace(/^StoreDir: .*$/m, 'StoreDir: /gnu/store'), /holds paths of store \/gnu\/store; only \/nix\/store/],
    ['a nix-cache-info without StoreDir', 'IntegrityError', (t) => t.replace(/^StoreDir: .*\n/m, ''), /has no StoreDir line/],
    ['no nix-cache-info at all', 'NotFoundError', () => undefined, /has no nix-cache-info/],
  ])('refuses %s before reading any narinfo', async (_name, code, edit, message) => {
    const cache = join(scratch.path, `cache-${n++}`);
    await cp(pristine, cache, { recursive: true });
    const next = edit(await readFile(join(cache, 'nix-cache-info'), 'utf8'));
    if (next === undefined) await rm(join(cache, 'nix-cache-info'));
    else await writeFile(join(cache, 'nix-cache-info'), next);
    const err = await openNixCache(`nix+file://${cache}`).then(
      async (c) => {
        await c.close();
        throw new Error('the cache was opened');
      },
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err.code, err.message).toBe(code);
    expect(err.message).toMatch(message);
    expect(err.message).toContain(cache);
  });

  it.each(cases.flatMap((c) => (['file', 'http'] as const).map((over) => [`${c[0]}, over ${over}`, ...c.slice(1), over] as [string, string, (c: string) => Promise<void>, () => string, RegExp, 'file' | 'http'])))('%s', async (_name, code, spoil, path, message, over) => {
    const { err, root } = await refusal(spoil, trust, over);
    expect(err.code, err.message).toBe(code);
    expect(err.message).toContain(path());
    expect(err.message).toMatch(message);
    expect(await placed(root)).toEqual([]);
  });
});
