import { mkdir, mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlotillaError } from '../../src/errors/index.js';
import { DEFAULT_LIMITS } from '../../src/packages/limits.js';
import { encodeManifest, parseManifest } from '../../src/packages/manifest-codec.js';
import type { Entry, Manifest } from '../../src/packages/manifest-types.js';
import { checkEntryPath } from '../../src/packages/path-rules.js';
import { checkSymlinksStayInside } from '../../src/packages/symlink-rules.js';
import { sha } from '../helpers/craft-manifest.js';

const segment = fc.stringMatching(/^[a-z0-9é日_-]{1,8}$/).filter((s) => s.normalize('NFC') === s);

/** Valid manifests: unique lower-case paths (no case collisions), parents declared, files with inline data or not. */
const validManifest: fc.Arbitrary<Manifest> = fc
  .record({
    paths: fc.uniqueArray(fc.array(segment, { minLength: 1, maxLength: 3 }), { maxLength: 12, selector: (p) => p.join('/') }),
    contents: fc.array(fc.string({ maxLength: 40 }), { minLength: 12, maxLength: 12 }),
    refs: fc.uniqueArray(fc.string(), { maxLength: 3 }),
    prov: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9._-]{0,10}$/), fc.string({ maxLength: 20 }), { maxKeys: 4 }),
    name: fc.stringMatching(/^[a-z][a-z0-9._-]{0,20}$/),
  })
  .map(({ paths, contents, refs, prov, name }) => {
    const all = new Map<string, Entry>();
    paths.forEach((segs, i) => {
      for (let d = 1; d < segs.length; d++) {
        const p = segs.slice(0, d).join('/');
        if (!all.has(p) || all.get(p)?.type !== 'dir') all.set(p, { type: 'dir', path: p });
      }
      const p = segs.join('/');
      if (all.has(p)) return;
      const c = contents[i] ?? '';
      const e: Entry = { type: 'file', path: p, size: Buffer.byteLength(c), digest: sha(c), executable: i % 2 === 0 };
      if (i % 3 === 0) e.data = Buffer.from(c).toString('base64');
      all.set(p, e);
    });
    // A file that is also a parent cannot exist: keep only entries whose parents are dirs.
    const entries = [...all.values()].filter((e) => e.path.split('/').slice(0, -1).every((_, k, a) => all.get(a.slice(0, k + 1).join('/'))?.type === 'dir'));
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { format: 1 as const, name, entries, references: [...new Set(refs.map((r) => sha(r)))].sort(), provenance: prov };
  });

describe('manifest parser (property-based)', () => {
  it('parse(encode(m)) gives the same bytes and digest for any valid manifest', () => {
    fc.assert(
      fc.property(validManifest, (m) => {
        const enc = encodeManifest(m);
        const dec = parseManifest(enc.bytes, enc.digest);
        expect(dec.digest).toBe(enc.digest);
        expect(encodeManifest(dec.manifest).bytes.equals(enc.bytes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('any single-byte change is either refused with a typed error or is itself canonical', () => {
    fc.assert(
      fc.property(validManifest, fc.nat(), fc.integer({ min: 1, max: 255 }), (m, pos, x) => {
        const bytes = Buffer.from(encodeManifest(m).bytes);
        const i = pos % bytes.length;
        bytes[i] = (bytes[i] ?? 0) ^ x;
        try {
          const p = parseManifest(bytes);
          expect(encodeManifest(p.manifest).bytes.equals(bytes)).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(FlotillaError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('arbitrary input never crashes the parser with an untyped error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string(), fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a).toString('latin1'))), (s) => {
        try {
          parseManifest(Buffer.from(s, 'utf8'));
        } catch (err) {
          expect(err).toBeInstanceOf(FlotillaError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('path rules (property-based)', () => {
  const piece = fc.constantFrom('a', 'B', '.', '..', '/', '\\', 'C:', ':', 'é', 'e\u0301', '\u0000', ' ', '');
  it('an accepted path is relative, has no dot or empty segments and stays under the root when joined', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (parts) => {
        const p = parts.join('');
        let segs: string[];
        try {
          segs = checkEntryPath(p, DEFAULT_LIMITS);
        } catch (err) {
          expect(err).toBeInstanceOf(FlotillaError);
          return;
        }
        expect(segs.every((s) => s !== '' && s !== '.' && s !== '..')).toBe(true);
        expect(p.includes('\\')).toBe(false);
        expect(p.normalize('NFC')).toBe(p);
        const root = resolve('/jail/root');
        expect(resolve(root, p).startsWith(root + sep)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepted symlinks never resolve outside the package on a real filesystem (chains, symlinked dirs)', async () => {
    const base = await mkdtemp(join(tmpdir(), 'flotilla-links-'));
    let run = 0;
    let accepted = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(fc.constantFrom('..', '.', 'a', 'b', 'l1', 'l2', 'l3'), { minLength: 1, maxLength: 5 }), { minLength: 3, maxLength: 3 }), async (targets) => {
          const linkPaths = ['a/b/l3', 'a/l2', 'l1'];
          const dirs: Entry[] = [
            { type: 'dir', path: 'a' },
            { type: 'dir', path: 'a/b' },
          ];
          const links = linkPaths.map((p, i): Entry => ({ type: 'symlink', path: p, target: (targets[i] ?? ['.']).join('/') }));
          const entries = [...dirs, ...links].sort((x, y) => (x.path < y.path ? -1 : 1));
          try {
            checkSymlinksStayInside(entries);
          } catch (err) {
            expect(err).toBeInstanceOf(FlotillaError);
            return;
          }
          accepted++;
          const root = join(base, `r${run++}`, 'pkg');
          await mkdir(join(root, 'a', 'b'), { recursive: true });
          for (const e of entries) if (e.type === 'symlink') await symlink(e.target, join(root, e.path));
          const real = await realpath(root);
          for (const e of entries) {
            if (e.type !== 'symlink') continue;
            const r = await realpath(join(root, e.path)).catch(() => undefined);
            if (r !== undefined) expect(r === real || r.startsWith(real + sep)).toBe(true);
          }
        }),
        { numRuns: 300 },
      );
      expect(accepted).toBeGreaterThan(10);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
