import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssue, loadAgentConfig, loadDeclarations } from '../../src/declarations/index.js';
import { readDeclarationDir } from '../../src/declarations/read-dir.js';

const ROOT = resolve(import.meta.dirname, '../..');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

// CI workflow files (ci/ folders) are the forges' formats, not Flotilla's: a test in test/plan parses them.
const isCiWorkflow = (f: string): boolean => /(^|\/)ci\//.test(relative(ROOT, f));
const yamlFiles = [...walk(join(ROOT, 'examples')), ...walk(join(ROOT, 'deploy-repo-template'))].filter((f) => /\.ya?ml$/.test(f) && !isCiWorkflow(f));

describe('shipped examples and template', () => {
  it('finds the YAML files to check', () => {
    expect(yamlFiles.length).toBeGreaterThanOrEqual(10);
  });

  it.each(yamlFiles.map((f) => [relative(ROOT, f)]))('%s starts with a yaml-language-server $schema line naming an existing schema', (rel) => {
    const first = readFileSync(join(ROOT, rel), 'utf8').split('\n')[0] ?? '';
    const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
    expect(m, first).not.toBeNull();
    const target = resolve(dirname(join(ROOT, rel)), m?.[1] ?? '');
    expect(existsSync(target)).toBe(true);
    expect(relative(ROOT, target)).toMatch(/^schemas\/(flotilla|set|machine|agent-config)\.schema\.json$/);
  });

  it.each([['deploy-repo-template'], ['examples/deploy-repo']])('%s validates with no issue', async (dir) => {
    const { files, issues } = await readDeclarationDir(join(ROOT, dir));
    expect(issues).toEqual([]);
    const r = loadDeclarations(files);
    expect(r.ok ? [] : r.errors.map(formatIssue)).toEqual([]);
    expect(r.ok && r.value.sets.size).toBeGreaterThanOrEqual(1);
    expect(r.ok && r.value.allowedSigners).toContain('allowed_signers format');
  });

  it('examples/agent.yaml loads', async () => {
    const r = await loadAgentConfig(join(ROOT, 'examples/agent.yaml'));
    expect(r.ok ? [] : r.errors.map(formatIssue)).toEqual([]);
    expect(r.ok && r.value.machine).toBe('web-1');
  });

  it('every YAML file under examples/ and the template was checked by one of the tests above', () => {
    const covered = yamlFiles.every((f) => {
      const rel = relative(ROOT, f);
      return rel === 'examples/agent.yaml' || rel.startsWith('examples/deploy-repo/') || rel.startsWith('deploy-repo-template/');
    });
    expect(covered).toBe(true);
  });
});
