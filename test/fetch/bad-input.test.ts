import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlotillaError } from '../../src/errors/index.js';
import { fetchClosure } from '../../src/fetch/fetch-closure.js';
import { canonicalJson, type CanonicalValue } from '../../src/packages/canonical-json.js';
import { objectKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { fileEntry, rawManifest, serveManifest, sha } from '../helpers/craft-manifest.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';

const dir = (path: string): CanonicalValue => ({ type: 'dir', path });
const link = (path: string, target: string): CanonicalValue => ({ type: 'symlink', path, target });
const deep = (n: number): CanonicalValue[] => Array.from({ length: n }, (_, i) => dir(Array.from({ length: i + 1 }, () => 'd').join('/')));

// Every "Bad input" row of THREATS.md, served by a real store as a validly signed manifest.
const ROWS: Array<{ name: string; bytes: string; code: string; mention?: string }> = [
  { name: '../ path', bytes: rawManifest({ entries: [fileEntry('../escape', 'x')] }), code: 'ManifestError', mention: '".." segment' },
  { name: 'nested ../ path', bytes: rawManifest({ entries: [dir('a'), fileEntry('a/../../x', 'x')] }), code: 'ManifestError' },
  { name: 'absolute path', bytes: rawManifest({ entries: [fileEntry('/etc/passwd', 'x')] }), code: 'ManifestError', mention: 'absolute' },
  { name: 'drive path C:..\\', bytes: rawManifest({ entries: [fileEntry('C:..\\x', 'x')] }), code: 'ManifestError', mention: 'drive' },
  { name: 'backslash', bytes: rawManifest({ entries: [fileEntry('a\\b', 'x')] }), code: 'ManifestError', mention: 'backslash' },
  { name: 'empty segment', bytes: rawManifest({ entries: [dir('a'), fileEntry('a//b', 'x')] }), code: 'ManifestError' },
  { name: '. segment', bytes: rawManifest({ entries: [fileEntry('./b', 'x')] }), code: 'ManifestError' },
  { name: 'control character', bytes: rawManifest({ entries: [fileEntry('a\nb', 'x')] }), code: 'ManifestError' },
  { name: 'character device', bytes: rawManifest({ entries: [{ type: 'chardev', path: 'null', major: 1, minor: 3 }] }), code: 'ManifestError', mention: 'device' },
  { name: 'block device', bytes: rawManifest({ entries: [{ type: 'blockdev', path: 'sda' }] }), code: 'ManifestError' },
  { name: 'FIFO', bytes: rawManifest({ entries: [{ type: 'fifo', path: 'pipe' }] }), code: 'ManifestError' },
  { name: 'socket', bytes: rawManifest({ entries: [{ type: 'socket', path: 'sock' }] }), code: 'ManifestError' },
  { name: 'setuid mode', bytes: rawManifest({ entries: [{ ...fileEntry('su', 'x'), mode: 2541 }] }), code: 'ManifestError', mention: 'unknown field' },
  { name: 'hardlink', bytes: rawManifest({ entries: [fileEntry('a', 'x'), { type: 'hardlink', path: 'b', target: 'a' }] }), code: 'ManifestError' },
  { name: 'duplicate paths', bytes: rawManifest({ entries: [fileEntry('a', 'x'), fileEntry('a', 'y')] }), code: 'ManifestError', mention: 'duplicate' },
  { name: 'unsorted paths', bytes: rawManifest({ entries: [fileEntry('b', 'x'), fileEntry('a', 'y')] }), code: 'ManifestError' },
  { name: 'case collision', bytes: rawManifest({ entries: [fileEntry('README', 'x'), fileEntry('readme', 'y')] }), code: 'ManifestError', mention: 'collide' },
  { name: 'NFD path (Unicode collision)', bytes: rawManifest({ entries: [fileEntry('cafe\u0301', 'x'), fileEntry('caf\u00e9', 'y')] }), code: 'ManifestError', mention: 'NFC' },
  { name: '4096-byte name', bytes: rawManifest({ entries: [fileEntry('n'.repeat(4096), 'x')] }), code: 'ManifestError' },
  { name: '256-byte name', bytes: rawManifest({ entries: [fileEntry('n'.repeat(256), 'x')] }), code: 'ManifestError', mention: '255' },
  { name: '10,000-deep path', bytes: rawManifest({ entries: [fileEntry(`${'d/'.repeat(9_999)}f`, 'x')] }), code: 'ManifestError', mention: 'longer than 4096 bytes' },
  { name: '100-deep short path', bytes: rawManifest({ entries: [fileEntry(`${'d/'.repeat(99)}f`, 'x')] }), code: 'ManifestError', mention: 'deeper' },
  { name: '65-deep declared tree', bytes: rawManifest({ entries: deep(65) }), code: 'ManifestError', mention: 'deeper' },
  { name: '10,000-deep declared tree (over the manifest size cap)', bytes: rawManifest({ entries: deep(10_000) }), code: 'SizeLimitError' },
  { name: 'undeclared parent', bytes: rawManifest({ entries: [fileEntry('a/b', 'x')] }), code: 'ManifestError', mention: 'parent' },
  { name: 'symlink to ..', bytes: rawManifest({ entries: [link('up', '..')] }), code: 'ManifestError', mention: 'outside' },
  { name: 'symlink ../../etc', bytes: rawManifest({ entries: [dir('a'), link('a/x', '../../etc/passwd')] }), code: 'ManifestError' },
  { name: 'absolute symlink', bytes: rawManifest({ entries: [link('x', '/etc/passwd')] }), code: 'ManifestError', mention: 'absolute' },
  { name: 'symlink chain escaping', bytes: rawManifest({ entries: [link('a', 'b'), link('b', 'c/..'), dir('c'), link('c/d', '../..')] }), code: 'ManifestError' },
  { name: 'escape through a symlinked dir', bytes: rawManifest({ entries: [link('esc', 'top/mid/up/..'), dir('top'), dir('top/mid'), link('top/mid/up', '../..')] }), code: 'ManifestError', mention: 'outside' },
  { name: 'symlink loop', bytes: rawManifest({ entries: [link('a', 'b'), link('b', 'a/x')] }), code: 'ManifestError', mention: 'loop' },
  { name: 'duplicate JSON keys', bytes: rawManifest({}).replace('"format":1', '"format":1,"format":1'), code: 'ManifestError', mention: 'canonical' },
  { name: 'duplicate keys in an entry', bytes: rawManifest({ entries: [fileEntry('a', 'x')] }).replace('"path":"a"', '"path":"../../x","path":"a"'), code: 'ManifestError', mention: 'canonical' },
  { name: 'whitespace', bytes: rawManifest({}).replace(',', ', '), code: 'ManifestError', mention: 'canonical' },
  { name: 'unknown hash algorithm sha512', bytes: rawManifest({ entries: [{ ...fileEntry('a', 'x'), digest: `sha512:${'0'.repeat(128)}` }] }), code: 'ManifestError', mention: 'other algorithms' },
  { name: 'unknown hash field md5', bytes: rawManifest({ entries: [{ type: 'file', path: 'a', size: 1, md5: '0'.repeat(32), executable: false }] }), code: 'ManifestError' },
  { name: 'uppercase hex', bytes: rawManifest({ entries: [{ ...fileEntry('a', 'x'), digest: `sha256:${'A'.repeat(64)}` }] }), code: 'ManifestError' },
  { name: 'bad reference digest', bytes: rawManifest({ references: ['sha256:../../etc'] }), code: 'ManifestError' },
  { name: 'unknown top-level field', bytes: rawManifest({ extra: 'x' }), code: 'ManifestError', mention: 'unknown field' },
  { name: 'unknown format version', bytes: rawManifest({ format: 2 }), code: 'ManifestError', mention: 'format' },
  { name: 'negative size', bytes: rawManifest({}).replace('"entries":[]', `"entries":[{"digest":"${sha('x')}","executable":false,"path":"a","size":-1,"type":"file"}]`), code: 'ManifestError' },
  { name: 'inline data of the wrong length', bytes: rawManifest({ entries: [{ ...fileEntry('a', 'xy'), data: Buffer.from('x').toString('base64') }] }), code: 'ManifestError', mention: 'inline' },
  { name: 'not JSON', bytes: '{"format":1,', code: 'ManifestError' },
  { name: 'invalid UTF-8', bytes: rawManifest({ name: 'zz' }).replace('zz', '\udc80z'), code: 'ManifestError' },
  { name: 'bad package name', bytes: rawManifest({ name: '../x' }), code: 'ManifestError', mention: 'package name' },
];

describe('bad input: hand-crafted manifests served by the store are refused as a whole', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let store: Store;
  const key = makeKeyPair('pub-1');
  beforeAll(async () => {
    t = await makeTempDir();
    store = openStore(join(t.dir, 'store'));
  });
  afterAll(async () => t.cleanup());

  it.each(ROWS)('$name', async (row) => {
    const d = await serveManifest(store, row.bytes, key.secret);
    // The objects the manifest names exist in the store, so only the manifest rules can refuse it.
    await store.put(objectKey(sha('x')), Buffer.from('x'));
    const state = join(t.dir, `state-${d.slice(7, 19)}`);
    const err = await fetchClosure({ stores: [store], digest: d, policy: { trusted: [key.public] }, stateDir: state }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FlotillaError);
    expect((err as FlotillaError).code).toBe(row.code);
    expect((err as FlotillaError).message).toContain(d);
    if (row.mention) expect((err as FlotillaError).message).toContain(row.mention);
    // Nothing written outside the temp area: no package dir, no cached object or manifest.
    expect(await readdir(join(state, 'store'))).toEqual([]);
    expect(await readdir(join(state, 'objects'))).toEqual(['tmp']);
    expect(await readdir(join(state, 'objects', 'tmp'))).toEqual([]);
  });

  it('inline data of the right length whose bytes are others: IntegrityError naming the manifest and the path, nothing materialised', async () => {
    // Signed and well-formed: only hashing the inline bytes against the entry's digest stops it.
    const d = await serveManifest(store, rawManifest({ entries: [{ ...fileEntry('a', 'xy'), data: Buffer.from('yx').toString('base64') }] }), key.secret);
    const state = join(t.dir, 'state-inline-bytes');
    const err = await fetchClosure({ stores: [store], digest: d, policy: { trusted: [key.public] }, stateDir: state }).then(
      () => undefined,
      (e: unknown) => e as FlotillaError,
    );
    expect(err?.code).toBe('IntegrityError');
    expect(err?.message).toContain(d);
    expect(err?.message).toContain('"a"');
    expect(err?.message).toContain(sha('xy'));
    expect(await readdir(join(state, 'store'))).toEqual([]);
    expect(await readdir(join(state, 'objects', 'tmp'))).toEqual([]);
  });

  it('refuses a digest that is not sha256: + 64 lowercase hex before building any key', async () => {
    for (const bad of ['sha256:../../../etc/passwd', `SHA256:${'a'.repeat(64)}`, `sha512:${'a'.repeat(128)}`, `sha256:${'A'.repeat(64)}`]) {
      await expect(fetchClosure({ stores: [store], digest: bad, policy: { trusted: [key.public] }, stateDir: join(t.dir, 'state-bad') })).rejects.toMatchObject({ code: 'InvalidDigestError' });
    }
  });

  it('accepts the valid twin of the rows (control: the harness can succeed)', async () => {
    const ok = canonicalJson({ format: 1, name: 'good', entries: [dir('a'), link('a/l', 'x'), fileEntry('a/x', 'x'), link('top', 'a/l')], references: [], provenance: {} });
    const d = await serveManifest(store, ok, key.secret);
    const r = await fetchClosure({ stores: [store], digest: d, policy: { trusted: [key.public] }, stateDir: join(t.dir, 'state-good') });
    expect(r.packages[0]?.name).toBe('good');
  });
});
