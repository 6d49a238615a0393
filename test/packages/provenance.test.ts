import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectProvenance } from '../../src/packages/provenance.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

describe('provenance', () => {
  it('reads commit, remote (credentials stripped) and dirty flag from git, CI variables, then extras', async () => {
    const t = await makeTempDir();
    try {
      const git = (...a: string[]): string => execFileSync('git', ['-C', t.dir, ...a], { encoding: 'utf8' }).trim();
      git('init', '-q');
      git('remote', 'add', 'origin', 'https://bob:s3cret@git.example.com/acme/app.git');
      await mkdir(join(t.dir, 'out'));
      await writeFile(join(t.dir, 'out', 'a'), 'x');
      git('add', '-A');
      git('-c', 'user.email=a@b', '-c', 'user.name=a', 'commit', '-qm', 'init');
      const clean = await collectProvenance(join(t.dir, 'out'), { GITHUB_RUN_ID: '77' }, { build: '9' });
      expect(clean).toEqual({ 'git.commit': git('rev-parse', 'HEAD'), 'git.remote': 'https://git.example.com/acme/app.git', 'git.dirty': 'false', 'ci.github.run-id': '77', build: '9' });
      await writeFile(join(t.dir, 'out', 'a'), 'changed');
      expect((await collectProvenance(join(t.dir, 'out'), {}))['git.dirty']).toBe('true');
      const outside = await makeTempDir();
      expect(await collectProvenance(outside.dir, {})).toEqual({});
      await outside.cleanup();
    } finally {
      await t.cleanup();
    }
  });
});
