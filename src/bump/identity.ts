import * as fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { ConfigError } from '../errors/index.js';

/** A commit author/committer. */
export interface GitIdentity {
  name: string;
  email: string;
}

/** The [user] name and email of a git config file (global or XDG), or nothing when it has none. */
async function userFromFile(file: string): Promise<{ name?: string; email?: string }> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const out: { name?: string; email?: string } = {};
  let inUser = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) inUser = /^\[user\]$/i.test(line);
    const m = inUser ? /^(name|email)\s*=\s*(.+)$/i.exec(line) : null;
    if (m?.[1] && m[2]) out[m[1].toLowerCase() as 'name' | 'email'] = m[2].trim().replace(/^"(.*)"$/, '$1');
  }
  return out;
}

/**
 * The identity for a new commit, looked up as git does: FLOTILLA_GIT_AUTHOR_NAME/EMAIL, then git's own
 * GIT_AUTHOR_NAME/EMAIL, then the repo's user.name and user.email, then the user's global config
 * (~/.gitconfig, $XDG_CONFIG_HOME/git/config). ConfigError when none gives both values.
 */
export async function resolveIdentity(gitdir: string, env: NodeJS.ProcessEnv): Promise<GitIdentity> {
  const fromConfig = async (path: string): Promise<string | undefined> => {
    const v: unknown = await git.getConfig({ fs, gitdir, path }).catch(() => undefined);
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  };
  const home = env['HOME'] ?? homedir();
  const xdg = await userFromFile(join(env['XDG_CONFIG_HOME'] ?? join(home, '.config'), 'git', 'config'));
  const global = await userFromFile(join(home, '.gitconfig'));
  const name = env['FLOTILLA_GIT_AUTHOR_NAME'] || env['GIT_AUTHOR_NAME'] || (await fromConfig('user.name')) || global.name || xdg.name;
  const email = env['FLOTILLA_GIT_AUTHOR_EMAIL'] || env['GIT_AUTHOR_EMAIL'] || (await fromConfig('user.email')) || global.email || xdg.email;
  if (!name || !email) {
    throw new ConfigError('no commit identity: set user.name and user.email (git config, in the repo or globally) or FLOTILLA_GIT_AUTHOR_NAME and FLOTILLA_GIT_AUTHOR_EMAIL', { gitdir });
  }
  return { name, email };
}
