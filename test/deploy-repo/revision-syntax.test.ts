import { describe, expect, it } from 'vitest';
import { parseRevision } from '../../src/deploy-repo/index.js';
import { hasCode } from '../../src/errors/index.js';

describe('parseRevision', () => {
  it.each([
    ['HEAD', 'HEAD', []],
    ['@', 'HEAD', []],
    ['@~2', 'HEAD', [['~', 2]]],
    ['HEAD~1', 'HEAD', [['~', 1]]],
    ['HEAD~', 'HEAD', [['~', 1]]],
    ['main^', 'main', [['^', 1]]],
    ['main^0', 'main', [['^', 0]]],
    ['main~2^2', 'main', [['~', 2], ['^', 2]]],
    ['HEAD^^~3', 'HEAD', [['^', 1], ['^', 1], ['~', 3]]],
    ['origin/release-1.2', 'origin/release-1.2', []],
    ['refs/tags/v1~1', 'refs/tags/v1', [['~', 1]]],
    ['1a2b', '1a2b', []],
    ['1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b^2', '1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b', [['^', 2]]],
  ] as const)('%s → name %s, steps %j', (text, name, steps) => {
    expect(parseRevision(text)).toEqual({ name, steps: steps.map(([kind, n]) => ({ kind, n })) });
  });

  it.each([
    ['', 'no name'],
    ['~1', 'no name'],
    ['^', 'no name'],
    ['main..feature', 'ranges'],
    ['main...feature', 'ranges'],
    ['HEAD:flotilla.yaml', ':path'],
    ['main@{1}', '@{'],
    ['@{-1}', '@{'],
    ['HEAD^{tree}', 'no ^{'],
    ['HEAD^{commit}~1', 'no ^{'],
    ['HEAD~1x', 'only ~N and ^N'],
    ['main feature', 'whitespace'],
    ['main\n', 'whitespace'],
    ['--all', 'option-like'],
    ['HEAD~123456', 'too many steps'],
  ])('refuses %j with UsageError (%s), naming the revision and what to give', (text, why) => {
    let caught: unknown;
    try {
      parseRevision(text);
    } catch (err) {
      caught = err;
    }
    expect(hasCode(caught, 'UsageError'), String(caught)).toBe(true);
    const message = (caught as Error).message;
    expect(message).toContain(JSON.stringify(text));
    expect(message).toContain(why.replace('no name', 'no name before'));
    expect(message).toContain('e.g. HEAD~1, main^2');
    expect((caught as { data: { rev: string } }).data.rev).toBe(text);
  });
});
