import * as fs from 'node:fs';
import git from 'isomorphic-git';
import { ConfigError } from '../errors/index.js';

/** A commit author/committer. */
export interface GitIdentity {
  name: string;
  email: string;
}

/**
 * The identity for a new commit: FLOTILLA_GIT_AUTHOR_NAME/EMAIL when set, else the repo's user.name and
 * user.email (isomorphic-git reads the repo's .git/config). ConfigError when neither gives both values.
 */
export async function resolveIdentity(gitdir: string, env: NodeJS.ProcessEnv): Promise<GitIdentity> {
  const fromConfig = async (path: string): Promise<string | undefined> => {
    const v: unknown = await git.getConfig({ fs, gitdir, path }).catch(() => undefined);
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  };
  const name = env['FLOTILLA_GIT_AUTHOR_NAME'] || (await fromConfig('user.name'));
  const email = env['FLOTILLA_GIT_AUTHOR_EMAIL'] || (await fromConfig('user.email'));
  if (!name || !email) {
    throw new ConfigError('no commit identity: set user.name and user.email in the repo (git config) or FLOTILLA_GIT_AUTHOR_NAME and FLOTILLA_GIT_AUTHOR_EMAIL', { gitdir });
  }
  return { name, email };
}
