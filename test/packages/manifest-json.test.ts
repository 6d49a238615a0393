import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/packages/canonical-json.js';
import { manifestJson } from '../../src/packages/manifest-json.js';
import type { Entry, Manifest } from '../../src/packages/manifest-types.js';
import type { Digest } from '../../src/store/digest.js';

// Strings that need escaping or are outside ASCII, where a hand-built serialiser would go wrong first.
const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('"', '\\', '\u2028', '\u0000', 'e\u0301', '\ud800', '日本'));
const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}` as Digest);
const entry: fc.Arbitrary<Entry> = fc.oneof(
  fc.record({ type: fc.constant('dir' as const), path: text }),
  fc.record({ type: fc.constant('symlink' as const), path: text, target: text }),
  fc.record({ type: fc.constant('file' as const), path: text, size: fc.maxSafeNat(), digest, executable: fc.boolean() }),
  fc.record({ type: fc.constant('file' as const), path: text, size: fc.nat(), digest, executable: fc.boolean(), data: fc.base64String() }),
);
const manifest: fc.Arbitrary<Manifest> = fc.record({
  format: fc.constant(1 as const),
  name: text,
  entries: fc.array(entry, { maxLength: 8 }),
  references: fc.array(digest, { maxLength: 3 }),
  provenance: fc.dictionary(fc.oneof(text, fc.constantFrom('0', '7', '__proto__', 'constructor')), text, { maxKeys: 4 }),
});

/** The generic form: every object copied with its keys sorted, as manifests were checked before. */
function generic(m: Manifest): string {
  return canonicalJson({
    format: m.format,
    name: m.name,
    entries: m.entries.map((e) => ({ ...e })),
    references: [...m.references],
    provenance: { ...m.provenance },
  });
}

describe('manifestJson', () => {
  it('gives exactly the generic canonical JSON of any manifest, every kind of entry and escape included', () => {
    fc.assert(
      fc.property(manifest, (m) => {
        expect(manifestJson(m)).toBe(generic(m));
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses a size that is not a safe non-negative integer, as the generic form does', () => {
    const e = { type: 'file' as const, path: 'a', size: 1.5, digest: `sha256:${'0'.repeat(64)}` as Digest, executable: false };
    const m: Manifest = { format: 1, name: 'n', entries: [e], references: [], provenance: {} };
    expect(() => manifestJson(m)).toThrow(RangeError);
    expect(() => manifestJson({ ...m, entries: [{ ...e, size: -1 }] })).toThrow(RangeError);
    expect(() => generic(m)).toThrow(RangeError);
  });
});
