import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalJsonByHand, type CanonicalValue } from '../../src/packages/canonical-json.js';

// Keys chosen to hit the traps of insertion order: array-index keys, "__proto__", non-ASCII and escapes.
const key = fc.oneof(fc.string(), fc.constantFrom('0', '7', '10', '4294967294', '01', '-1', '__proto__', 'constructor', 'é', 'e\u0301', '"', '\\'));
const value: fc.Arbitrary<CanonicalValue> = fc.letrec<{ v: CanonicalValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.boolean(),
    fc.nat(),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(key, tie('v'), { maxKeys: 5 }),
  ),
})).v;

describe('canonicalJson', () => {
  it('gives exactly the bytes of the hand-written serialiser, and parses back to the same value', () => {
    fc.assert(
      fc.property(value, (v) => {
        const s = canonicalJson(v);
        expect(s).toBe(canonicalJsonByHand(v));
        expect(canonicalJson(JSON.parse(s) as CanonicalValue)).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });

  it('sorts keys by UTF-16 code units, index-like keys included, and refuses floats, negatives and undefined', () => {
    expect(canonicalJson({ b: 1, a: [true, 'x'], '10': 0, '9': 0, __proto__x: 1 })).toBe('{"10":0,"9":0,"__proto__x":1,"a":[true,"x"],"b":1}');
    expect(canonicalJson(JSON.parse('{"__proto__":{"z":1,"y":2}}') as CanonicalValue)).toBe('{"__proto__":{"y":2,"z":1}}');
    expect(() => canonicalJson(1.5)).toThrow(RangeError);
    expect(() => canonicalJson({ a: -1 })).toThrow(RangeError);
    expect(() => canonicalJson({ a: undefined } as unknown as CanonicalValue)).toThrow(RangeError);
  });
});
