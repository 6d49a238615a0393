import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Runs a git command in `dir`; returns trimmed stdout, or undefined when git fails (not a work tree). */
async function git(dir: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout } = await exec('git', ['-C', dir, ...args], { timeout: 10_000, maxBuffer: 1 << 20 });
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/** Removes `user:password@` from a remote URL so credentials never land in a signed manifest. */
export function stripCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
}

const CI_VARS: Array<[string, string]> = [
  ['GITHUB_REPOSITORY', 'ci.github.repository'],
  ['GITHUB_RUN_ID', 'ci.github.run-id'],
  ['GITHUB_WORKFLOW', 'ci.github.workflow'],
  ['GITHUB_SHA', 'ci.github.sha'],
  ['CI_PIPELINE_URL', 'ci.gitlab.pipeline-url'],
  ['CI_JOB_ID', 'ci.job-id'],
  ['CI_COMMIT_SHA', 'ci.gitlab.commit'],
  ['BUILD_URL', 'ci.build-url'],
  ['BUILDKITE_BUILD_URL', 'ci.buildkite.build-url'],
];

/**
 * Provenance for a pushed directory: git remote URL (credentials stripped), commit and dirty flag when
 * `dir` is inside a work tree; CI variables when present; then `extra` (wins). No timestamps, so pushing
 * the same tree from the same commit gives the same digest. Never throws for a missing git.
 */
export async function collectProvenance(dir: string, env: NodeJS.ProcessEnv, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if ((await git(dir, ['rev-parse', '--is-inside-work-tree'])) === 'true') {
    const commit = await git(dir, ['rev-parse', 'HEAD']);
    if (commit) out['git.commit'] = commit;
    const remote = await git(dir, ['config', '--get', 'remote.origin.url']);
    if (remote) out['git.remote'] = stripCredentials(remote);
    const status = await git(dir, ['status', '--porcelain', '--', '.']);
    if (status !== undefined) out['git.dirty'] = status === '' ? 'false' : 'true';
  }
  for (const [v, k] of CI_VARS) {
    const val = env[v];
    if (val) out[k] = val.slice(0, 1024);
  }
  return { ...out, ...extra };
}
