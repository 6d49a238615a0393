// A whole working deployment world for benchmarks (bench/ cannot import test/): an SSH signing key made by
// ssh-keygen, a directory store, a publisher key, a signed deploy repo (git CLI, isolated environment)
// published to a bare repo that git http-backend serves over loopback HTTP, and agent configs.
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startGitHttpServer, type GitHttpServer } from '../../scripts/servers/git-http-server.js';
import { detectPlatform } from '../../src/declarations/agent-config-defaults.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import { generateKeyPair, parseSecretKey, type SecretKey } from '../../src/trust/publisher-key.js';
import { startRefCacheServer, type RefCacheServer } from './ref-cache-server.js';

/** The environment every git/ssh-keygen run gets: no system or user config, HOME in the world's root. */
export function isolatedEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('GIT_') && k !== 'GNUPGHOME' && !k.startsWith('SSH_')) base[k] = v;
  }
  return {
    ...base,
    HOME: home,
    XDG_CONFIG_HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Bench',
    GIT_AUTHOR_EMAIL: 'bench@example.test',
    GIT_COMMITTER_NAME: 'Bench',
    GIT_COMMITTER_EMAIL: 'bench@example.test',
    LC_ALL: 'C',
    ...extra,
  };
}

/** Runs a tool; resolves its stdout, rejects with its stderr (naming the command) when it exits non-zero. */
export function runTool(cmd: string, args: string[], options: { cwd?: string; env: Record<string, string>; input?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env, stdio: 'pipe' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${Buffer.concat(err).toString('utf8')}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** A free TCP port on 127.0.0.1 (bound and released; good enough for a benchmark on one machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A deployment world on this machine. `close()` stops the git server and removes everything. */
export interface BenchWorld {
  root: string;
  /** The directory store every part uses. */
  storeUrl: string;
  /** The deploy repo over loopback HTTP (git http-backend). */
  repoUrl: string;
  /** The same repo as a local bare git dir (an agent may read it directly). */
  bareDir: string;
  git: GitHttpServer;
  /** The caching front when the world was made with `refCache` (repoUrl then points at it). */
  refCache: RefCacheServer | undefined;
  allowedSignersFile: string;
  platform: string;
  /** Pushes a directory of `files` (path → content; `+x` suffix in the key makes it executable) as package `name`, signed; returns its digest. */
  pushPackage(name: string, files: Record<string, string>): Promise<Digest>;
  /** Writes files in the deploy repo (null deletes), commits them signed with the SSH key, pushes to the bare repo; returns the oid. */
  commit(files: Record<string, string | null>, message: string): Promise<string>;
  /** Writes an agent config (JSON, which is YAML) for `machine` with its own state dir; returns its path. */
  agentConfig(machine: string, extra?: Record<string, unknown>): Promise<string>;
  /** The state dir agentConfig gives `machine`. */
  stateDirOf(machine: string): string;
  close(): Promise<void>;
}

/**
 * Creates the world: keys, store, signed initial commit (flotilla.yaml, allowed_signers), HTTP server.
 * With `refCache`, agents reach the repo through startRefCacheServer (ref advertisements from memory,
 * dropped on every commit) instead of one git http-backend process per request.
 */
export async function createBenchWorld(prefix = 'world', options: { refCache?: boolean } = {}): Promise<BenchWorld> {
  const root = await mkdtemp(join(tmpdir(), `flotilla-bench-${prefix}-`));
  let git: GitHttpServer | undefined;
  let refCache: RefCacheServer | undefined;
  try {
    const home = join(root, 'home');
    await mkdir(home);
    const env = isolatedEnv(home);
    const storeUrl = join(root, 'store');
    await mkdir(storeUrl);
    const key = join(root, 'id-release');
    await runTool('ssh-keygen', ['-t', 'ed25519', '-N', '', '-q', '-C', 'release@example.test', '-f', key], { env });
    const [type, b64] = (await readFile(`${key}.pub`, 'utf8')).trim().split(' ');
    const allowedSigners = `release@example.test ${type} ${b64}\n`;
    const allowedSignersFile = join(root, 'allowed_signers');
    await writeFile(allowedSignersFile, allowedSigners);
    const publisher = generateKeyPair('bench-1');
    const secret: SecretKey = parseSecretKey(publisher.secret);
    const served = join(root, 'served');
    const bareDir = join(served, 'deploy.git');
    await runTool('git', ['init', '-q', '--bare', '-b', 'main', bareDir], { env });
    git = await startGitHttpServer(served);
    if (options.refCache) refCache = await startRefCacheServer(git.url);
    const front = refCache;
    const work = join(root, 'work');
    await runTool('git', ['init', '-q', '-b', 'main', work], { env });
    const platform = detectPlatform();
    let pushes = 0;
    const server = git;
    const world: BenchWorld = {
      root, storeUrl, repoUrl: `${front?.url ?? git.url}/deploy.git`, bareDir, git, refCache, allowedSignersFile, platform,
      async pushPackage(name, files) {
        const dir = join(root, 'src', `${name}-${++pushes}`);
        for (const [path, content] of Object.entries(files)) {
          const exec = path.endsWith('+x');
          const full = join(dir, exec ? path.slice(0, -2) : path);
          await mkdir(dirname(full), { recursive: true });
          await writeFile(full, content);
          if (exec) await chmod(full, 0o755);
        }
        const store = openStore(storeUrl);
        try {
          return (await pushDirectory(store, dir, { name, signKeys: [secret] })).digest;
        } finally {
          await store.close();
        }
      },
      async commit(files, message) {
        for (const [path, content] of Object.entries(files)) {
          const full = join(work, path);
          if (content === null) await rm(full, { force: true });
          else {
            await mkdir(dirname(full), { recursive: true });
            await writeFile(full, content);
          }
        }
        await runTool('git', ['add', '-A'], { cwd: work, env });
        await runTool('git', ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${key}`, 'commit', '-q', '--allow-empty', '-S', '-m', message], { cwd: work, env });
        await runTool('git', ['push', '-q', '--force', bareDir, 'main:refs/heads/main'], { cwd: work, env });
        front?.invalidate();
        return (await runTool('git', ['rev-parse', 'HEAD'], { cwd: work, env })).trim();
      },
      stateDirOf: (machine) => join(root, 'machines', machine),
      async agentConfig(machine, extra = {}) {
        const stateDir = world.stateDirOf(machine);
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
        await writeFile(file, JSON.stringify(config, null, 2));
        return file;
      },
      async close() {
        await front?.close();
        await server.close();
        await rm(root, { recursive: true, force: true });
      },
    };
    const flotillaYaml = ['stores:', `  - "${storeUrl}"`, 'publishers:', '  keys:', `    - ${publisher.public}`, '  threshold: 1', ''].join('\n');
    await world.commit({ 'flotilla.yaml': flotillaYaml, allowed_signers: allowedSigners }, 'init');
    return world;
  } catch (err) {
    await refCache?.close();
    await git?.close();
    await rm(root, { recursive: true, force: true });
    throw err;
  }
}

/** Options of setYaml: the set's closure, machines, rollout and (optional) activation and health. */
export interface SetYamlOptions {
  closure: string;
  platform: string;
  machines: string[];
  /** Default: no batching (`batchSize: all`, no canary, no leases). */
  rollout?: { canary: number; batchSize: number | 'all'; leaseTtl?: string };
  activate?: string[];
  health?: string[];
}

/** sets/NAME.yaml text (YAML flow lists as JSON). */
export function setYaml(o: SetYamlOptions): string {
  const r = o.rollout ?? { canary: 0, batchSize: 'all' };
  const lines = [
    `closure: ${o.closure}`,
    `platform: ${o.platform}`,
    `machines: ${JSON.stringify(o.machines)}`,
    'rollout:',
    `  canary: ${r.canary}`,
    `  batchSize: ${r.batchSize}`,
    ...(r.leaseTtl ? [`  leaseTtl: ${r.leaseTtl}`] : []),
  ];
  if (o.activate) lines.push('activate:', `  command: ${JSON.stringify(o.activate)}`, '  timeout: 20s');
  if (o.health) lines.push('health:', `  command: ${JSON.stringify(o.health)}`, '  initialDelay: 0s', '  interval: 100ms', '  retries: 0', '  timeout: 5s');
  return `${lines.join('\n')}\n`;
}
