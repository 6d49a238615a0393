import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';
import { cliReferencePath, renderCliReference } from '../../scripts/gen-cli-docs.js';

describe('docs/cli.md', () => {
  it('is exactly what `npm run docs` generates from the commands\' --help (regenerate it when this fails)', async () => {
    const expected = await renderCliReference();
    const actual = await readFile(cliReferencePath(), 'utf8');
    expect(actual, 'docs/cli.md is stale: run `npm run docs`').toBe(expected);
  });

  it('has a section for every command in the table', async () => {
    const text = await readFile(cliReferencePath(), 'utf8');
    for (const c of COMMANDS) expect(text).toContain(`## flotilla ${c.name}\n`);
  });
});
