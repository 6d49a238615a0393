import { readGitAuthFromEnv, type GitAuth } from './git-auth.js';

/** The environment variable names an agent config gives for its repo's credentials (never the secrets). */
export interface RepoAuthRef {
  usernameEnv?: string;
  passwordEnv?: string;
  bearerTokenEnv?: string;
}

/**
 * Git credentials from the variables `ref` names: a bearer token first, then user + password; else the
 * FLOTILLA_GIT_* variables (readGitAuthFromEnv). Undefined when none is set. Never throws. Shared by the
 * tick's repo sync and the supervisor's cheap head check, so both send the same credentials.
 */
export function readRepoAuth(ref: RepoAuthRef, env: NodeJS.ProcessEnv = process.env): GitAuth | undefined {
  const token = ref.bearerTokenEnv ? env[ref.bearerTokenEnv] : undefined;
  if (token) return { kind: 'bearer', token };
  const username = ref.usernameEnv ? env[ref.usernameEnv] : undefined;
  const password = ref.passwordEnv ? env[ref.passwordEnv] : undefined;
  if (username !== undefined && password !== undefined) return { kind: 'basic', username, password };
  return readGitAuthFromEnv(env);
}
