/** Credentials for a git HTTP remote, read from the environment (never from the repo or the URL). */
export type GitAuth = { kind: 'basic'; username: string; password: string } | { kind: 'bearer'; token: string };

/**
 * Reads FLOTILLA_GIT_TOKEN (bearer) or FLOTILLA_GIT_USERNAME + FLOTILLA_GIT_PASSWORD (basic) from `env`.
 * Returns undefined when neither is set. The token wins when both are.
 */
export function readGitAuthFromEnv(env: NodeJS.ProcessEnv): GitAuth | undefined {
  const token = env.FLOTILLA_GIT_TOKEN;
  if (token) return { kind: 'bearer', token };
  const username = env.FLOTILLA_GIT_USERNAME;
  const password = env.FLOTILLA_GIT_PASSWORD;
  if (username !== undefined && password !== undefined) return { kind: 'basic', username, password };
  return undefined;
}

/** The Authorization header for `auth` (empty object when none). */
export function authHeaders(auth: GitAuth | undefined): Record<string, string> {
  if (!auth) return {};
  if (auth.kind === 'bearer') return { Authorization: `Bearer ${auth.token}` };
  return { Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
}
