import { describe, expect, it } from 'vitest';
import { closestMatch, editDistance } from '../../src/util/edit-distance.js';

describe('edit distance', () => {
  it.each([
    ['', '', 0], ['', 'abc', 3], ['status', 'status', 0], ['stauts', 'status', 1], ['statsu', 'status', 1],
    ['staus', 'status', 1], ['kitten', 'sitting', 3], ['ca', 'abc', 3],
  ])('%s → %s is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  const verbs = ['status', 'serve', 'show', 'sign', 'push', 'pin', 'pins', 'unpin'];
  it.each([
    ['stauts', 'status'], ['sevre', 'serve'], ['pnis', 'pins'], ['unpni', 'unpin'], ['sta', 'status'],
    ['frobnicate', undefined], ['x', undefined], ['s', undefined],
  ])('closest to %s is %s', (word, expected) => expect(closestMatch(word, verbs)).toBe(expected));
});
