import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { collisionKey } from '../../src/packages/path-rules.js';

const fullFold = (p: string): string => p.normalize('NFD').toLowerCase().toUpperCase().toLowerCase().normalize('NFC');
const printableAscii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 });

describe('the printable-ASCII fast path of the path rules', () => {
  it('folds exactly like the full Unicode fold, for any string', () => {
    fc.assert(
      fc.property(fc.oneof(printableAscii, fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })), (p) => {
        expect(collisionKey(p)).toBe(fullFold(p));
      }),
      { numRuns: 3000 },
    );
  });

  it('skips only checks a printable-ASCII path always passes: well-formed, NFC, one byte per character', () => {
    fc.assert(
      fc.property(printableAscii, (p) => {
        expect(Buffer.from(p, 'utf8').toString('utf8')).toBe(p);
        expect(p.normalize('NFC')).toBe(p);
        expect(Buffer.byteLength(p, 'utf8')).toBe(p.length);
      }),
      { numRuns: 3000 },
    );
  });
});
