import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The hand-written docs name files and link to each other; a rename elsewhere must not leave them lying.
const DOCS = ['README.md', 'CONTRIBUTING.md', 'docs/concepts.md', 'docs/file-formats.md', 'docs/security.md', 'docs/operations.md', 'examples/ci/README.md', 'examples/store-urls.md'];

/** Relative markdown link targets of `file`, without #anchors (web links and pure anchors skipped). */
function links(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? '')
    .filter((t) => !/^(?:https?:|mailto:|#)/.test(t))
    .map((t) => t.replace(/#.*$/, ''));
}

/** Repository paths written in backticks (`src/…`, `test/….test.ts`, …), skipping placeholders. */
function codePaths(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/`((?:src|test|scripts|bench|schemas|examples|deploy-repo-template|docs)\/[^`\s]*)`/g)]
    .map((m) => m[1] ?? '')
    .filter((p) => !/[<>*…]|[A-Z]{3,}/.test(p));
}

describe('hand-written docs', () => {
  it.each(DOCS)('%s: every relative link points at a file that exists', (file) => {
    const missing = links(file).filter((t) => !existsSync(resolve(dirname(file), t)));
    expect(missing).toEqual([]);
  });

  it.each(DOCS)('%s: every repository path it names exists', (file) => {
    const paths = codePaths(file);
    const missing = paths.filter((p) => !existsSync(join(process.cwd(), p)));
    expect(missing).toEqual([]);
  });

  it('security.md names a test file for each of the five parts of the threat list', () => {
    const text = readFileSync('docs/security.md', 'utf8');
    for (const part of ['### Trust', '### Store and fetch', '### Switch and activation', '### Coordination', '### Bad input']) {
      const section = text.slice(text.indexOf(part)).split('\n### ')[0] ?? '';
      expect(section, part).toMatch(/`test\/[a-z0-9/-]+\.test\.ts`/);
    }
  });
});
