import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveIdentity } from '../../src/bump/identity.js';
import { createBareRepo } from '../helpers/git-repo.js';

describe('resolveIdentity looks up the commit identity as git does', () => {
  let dir: string;
  let gitdir: string;
  let home: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-identity-'));
    gitdir = await createBareRepo(dir, 'repo.git');
    home = join(dir, 'home');
    await mkdir(join(home, '.config', 'git'), { recursive: true });
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('refuses with ConfigError when nothing names one', async () => {
    await expect(resolveIdentity(gitdir, { HOME: home })).rejects.toMatchObject({ code: 'ConfigError' });
  });

  it('takes the global ~/.gitconfig [user] section when the repo has none', async () => {
    await writeFile(join(home, '.gitconfig'), '[core]\n\tname = not-this\n[user]\n\tname = Release Engineer\n\temail = "re@example.test"\n');
    await expect(resolveIdentity(gitdir, { HOME: home })).resolves.toEqual({ name: 'Release Engineer', email: 're@example.test' });
  });

  it("prefers git's GIT_AUTHOR_* and Flotilla's own variables over config", async () => {
    await expect(resolveIdentity(gitdir, { HOME: home, GIT_AUTHOR_NAME: 'Env Name', GIT_AUTHOR_EMAIL: 'env@example.test' })).resolves.toEqual({ name: 'Env Name', email: 'env@example.test' });
    await expect(resolveIdentity(gitdir, { HOME: home, GIT_AUTHOR_NAME: 'Env Name', FLOTILLA_GIT_AUTHOR_NAME: 'Flotilla Name' })).resolves.toMatchObject({ name: 'Flotilla Name', email: 're@example.test' });
  });
});
