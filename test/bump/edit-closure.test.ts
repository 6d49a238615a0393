import { describe, expect, it } from 'vitest';
import { replaceClosureDigest } from '../../src/bump/edit-closure.js';
import { digestFromHex } from '../../src/store/digest.js';

const OLD = digestFromHex('a'.repeat(64));
const NEW = digestFromHex('b'.repeat(64));

describe('replaceClosureDigest: only the digest changes, byte for byte', () => {
  it.each([
    ['plain', `# c\nclosure: ${OLD}\nmachines: [a]\n`],
    ['double-quoted with a trailing comment', `closure: "${OLD}"  # pinned\n`],
    ['single-quoted', `closure: '${OLD}'\n`],
    ['CRLF line endings', `# x\r\nclosure: ${OLD}\r\nmachines:\r\n  - a\r\n`],
    ['flow mapping', `{ closure: ${OLD}, machines: [a] }\n`],
    ['after other keys, odd spacing', `machines:\n    - a\nclosure:     ${OLD}\n\n\n# end\n`],
  ])('%s', (_name, text) => {
    const out = replaceClosureDigest(text, NEW, 'sets/web.yaml');
    expect(out).toBe(text.replace(OLD, NEW));
  });

  it.each([
    ['invalid YAML', 'closure: [\n', /sets\/web.yaml: not valid YAML/],
    ['no closure key', 'machines: [a]\n', /no "closure:" scalar/],
    ['a nested closure only', `rollout:\n  closure: ${OLD}\n`, /no "closure:" scalar/],
    ['a block scalar', `closure: |\n  ${OLD}\n`, /cannot edit in place/],
  ])('refuses %s, naming the file', (_name, text, message) => {
    expect(() => replaceClosureDigest(text, NEW, 'sets/web.yaml')).toThrow(message);
  });
});
