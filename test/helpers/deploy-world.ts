import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mkdtemp } from 'node:fs/promises';
import { detectPlatform } from '../../src/declarations/agent-config-defaults.js';
import type { Digest } from '../../src/store/digest.js';
import { createBareRepo, createTestRepo, type TestRepo } from './git-repo.js';
import { startGitHttpServer, type GitHttpServer } from './git-http-server.js';
import { makeSshKey, writeAllowedSigners, type SshKey } from './ssh-keys.js';
import { writeServicePackage } from './service-package.js';

/** The built CLI (tests run after `npm run build`). */
export const CLI = resolve('dist/src/cli/main.js');

/** Result of running the CLI as a real process. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `flotilla ARGS` as a child process and collects its output. */
export function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, FLOTILLA_LOG_LEVEL: 'warn', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** A complete little deployment world on one machine: keys, a store, a signed deploy repo served over HTTP. */
export interface DeployWorld {
  root: string;
  /** The store every part uses: a directory path, or an s3:// URL. */
  storeUrl: string;
  repoUrl: string;
  work: TestRepo;
  signer: SshKey;
  allowedSignersFile: string;
  publisherKeyFile: string;
  publisherPublic: string;
  platform: string;
  git: GitHttpServer;
  /** Pushes the service package at `version` (signed by the publisher key); returns its digest. */
  pushService(version: string, options?: { failHealth?: boolean }): Promise<Digest>;
  /** Writes files in the deploy repo, commits them signed, and publishes the commit to the served bare repo. */
  commit(files: Record<string, string | null>, message?: string): Promise<string>;
  /** Writes an agent config for `machine` and returns its path. */
  agentConfig(machine: string, extra?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/** flotilla.yaml text for the world's store and publisher key. */
export function repoConfigYaml(storeUrl: string, publisherPublic: string): string {
  return [`stores:`, `  - "${storeUrl}"`, `publishers:`, `  keys:`, `    - ${publisherPublic}`, `  threshold: 1`, ''].join('\n');
}

/** Creates the world. `close()` stops the git server and removes everything. */
export async function createDeployWorld(options: { storeUrl?: string } = {}): Promise<DeployWorld> {
  const root = await mkdtemp(join(tmpdir(), 'flotilla-world-'));
  let storeUrl = options.storeUrl;
  if (storeUrl === undefined) {
    storeUrl = join(root, 'store');
    await mkdir(storeUrl);
  }
  const signer = await makeSshKey(root, 'release');
  const allowedSignersFile = join(root, 'allowed_signers');
  const allowedSigners = await writeAllowedSigners(allowedSignersFile, [signer]);
  const publisherKeyFile = join(root, 'publisher.key');
  const keygen = await runCli(['keygen', '--name', 'ci-1', '--out', publisherKeyFile]);
  if (keygen.code !== 0) throw new Error(`keygen failed: ${keygen.stderr}`);
  const publisherPublic = keygen.stdout.trim();
  const served = join(root, 'served');
  const bare = await createBareRepo(served, 'deploy.git');
  const git = await startGitHttpServer(served);
  const work = await createTestRepo(root, 'deploy');
  const platform = detectPlatform();
  let pushes = 0;
  const world: DeployWorld = {
    root, storeUrl, repoUrl: `${git.url}/deploy.git`, work, signer, allowedSignersFile, publisherKeyFile, publisherPublic, platform, git,
    async pushService(version, options = {}) {
      const dir = join(root, 'src', `svc-${version}-${++pushes}`);
      await writeServicePackage(dir, version, options);
      const r = await runCli(['push', dir, '--store', storeUrl, '--name', 'svc', '--sign-key', publisherKeyFile]);
      if (r.code !== 0) throw new Error(`push failed: ${r.stderr}`);
      return r.stdout.trim() as Digest;
    },
    async commit(files, message) {
      const oid = await work.commit({ files, sign: { ssh: signer }, ...(message ? { message } : {}) });
      await work.pushTo(bare);
      return oid;
    },
    async agentConfig(machine, extra = {}) {
      const stateDir = join(root, 'machines', machine);
      await mkdir(stateDir, { recursive: true });
      const file = join(root, `agent-${machine}.json`);
      const config = {
        machine,
        platform,
        stateDir,
        repo: { url: world.repoUrl, branch: 'main', pollSchedule: '*/1 * * * * *', jitter: '0s' },
        trust: { allowedSignersFile },
        metrics: { enabled: false },
        ...extra,
      };
      // JSON is YAML: the agent reads it with the same loader.
      await writeFile(file, JSON.stringify(config, null, 2));
      return file;
    },
    async close() {
      await git.close();
      await rm(root, { recursive: true, force: true });
    },
  };
  await world.commit({ 'flotilla.yaml': repoConfigYaml(storeUrl, publisherPublic), allowed_signers: allowedSigners }, 'init');
  return world;
}
