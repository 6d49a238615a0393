// The one "build a world" recipe: keys, a store, a signed deploy repo served over HTTP, agent configs. Tests,
// benchmarks and the demo build their machines from it, so a change to what a deployment needs is made once.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { detectPlatform } from '../../src/declarations/agent-config-defaults.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import { generateKeyPair, parseSecretKey, writeSecretKeyFile } from '../../src/trust/publisher-key.js';
import { startGitHttpServer, type GitHttpServer } from '../servers/git-http-server.js';
import { repoConfigYaml, writeAgentConfig } from './config-files.js';
import { createBareRepo, createTestRepo, type TestRepo } from './git-repo.js';
import { writeServicePackage } from './service-package.js';
import { makeSshKey, writeAllowedSigners, type SshKey } from './ssh-keys.js';

/** A front put between the agents and git http-backend (for example a caching proxy in a benchmark). */
export interface GitFront {
  url: string;
  /** Called after every published commit. */
  invalidate(): void;
  close(): Promise<void>;
}

/** How to build a world. */
export interface DeployWorldOptions {
  /** The store every part uses; default a fresh directory store in the world. */
  storeUrl?: string;
  /** Temp-dir prefix, to tell worlds apart on disk. */
  prefix?: string;
  /** Puts a front before the git server; agents then use the front's URL. */
  front?: (gitUrl: string) => Promise<GitFront>;
}

/** A complete little deployment world on one machine: keys, a store, a signed deploy repo served over HTTP. */
export interface DeployWorld {
  root: string;
  /** The store every part uses: a directory path, or an s3:// URL. */
  storeUrl: string;
  /** The deploy repo over loopback HTTP (through the front, when there is one). */
  repoUrl: string;
  /** The same repo as a local bare git dir (an agent may read it directly). */
  bareDir: string;
  /** The work tree commits are made in. */
  work: TestRepo;
  signer: SshKey;
  allowedSignersFile: string;
  publisherKeyFile: string;
  publisherPublic: string;
  platform: string;
  git: GitHttpServer;
  /** Pushes the test service package at `version` (signed by the publisher key); returns its digest. */
  pushService(version: string, options?: { failHealth?: boolean }): Promise<Digest>;
  /** Pushes `files` (path → content; a `+x` suffix makes it executable) as package `name`, signed; returns its digest. */
  pushPackage(name: string, files: Record<string, string>): Promise<Digest>;
  /** Writes files in the deploy repo (null deletes), commits them signed, publishes to the served bare repo; returns the oid. */
  commit(files: Record<string, string | null>, message?: string): Promise<string>;
  /** Writes an agent config for `machine` with its own state dir and returns its path. */
  agentConfig(machine: string, extra?: Record<string, unknown>): Promise<string>;
  /** The state dir agentConfig gives `machine`. */
  stateDirOf(machine: string): string;
  close(): Promise<void>;
}

export { repoConfigYaml };

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const exec = path.endsWith('+x');
    const full = join(dir, exec ? path.slice(0, -2) : path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, content);
    if (exec) await chmod(full, 0o755);
  }
}

/** Creates the world with its first signed commit (flotilla.yaml, allowed_signers). `close()` removes everything. */
export async function createDeployWorld(options: DeployWorldOptions = {}): Promise<DeployWorld> {
  const root = await mkdtemp(join(tmpdir(), `flotilla-${options.prefix ?? 'world'}-`));
  let git: GitHttpServer | undefined;
  let front: GitFront | undefined;
  try {
    const storeUrl = options.storeUrl ?? join(root, 'store');
    if (options.storeUrl === undefined) await mkdir(storeUrl);
    const signer = await makeSshKey(root, 'release');
    const allowedSignersFile = join(root, 'allowed_signers');
    const allowedSigners = await writeAllowedSigners(allowedSignersFile, [signer]);
    const publisher = generateKeyPair('ci-1');
    const publisherKeyFile = join(root, 'publisher.key');
    await writeSecretKeyFile(publisherKeyFile, publisher.secret);
    const secret = parseSecretKey(publisher.secret);
    const bareDir = await createBareRepo(join(root, 'served'), 'deploy.git');
    git = await startGitHttpServer(join(root, 'served'));
    front = options.front ? await options.front(git.url) : undefined;
    const work = await createTestRepo(root, 'deploy');
    const platform = detectPlatform();
    let pushes = 0;
    const push = async (dir: string, name: string): Promise<Digest> => {
      const store = openStore(storeUrl);
      try {
        return (await pushDirectory(store, dir, { name, signKeys: [secret] })).digest;
      } finally {
        await store.close();
      }
    };
    const server = git;
    const gitFront = front;
    const world: DeployWorld = {
      root, storeUrl, repoUrl: `${gitFront?.url ?? server.url}/deploy.git`, bareDir, work, signer, allowedSignersFile,
      publisherKeyFile, publisherPublic: publisher.public, platform, git: server,
      async pushService(version, pushOptions = {}) {
        const dir = join(root, 'src', `svc-${version}-${++pushes}`);
        await writeServicePackage(dir, version, pushOptions);
        return push(dir, 'svc');
      },
      async pushPackage(name, files) {
        const dir = join(root, 'src', `${name}-${++pushes}`);
        await writeFiles(dir, files);
        return push(dir, name);
      },
      async commit(files, message) {
        const oid = await work.commit({ files, sign: { ssh: signer }, ...(message ? { message } : {}) });
        await work.pushTo(bareDir);
        gitFront?.invalidate();
        return oid;
      },
      stateDirOf: (machine) => join(root, 'machines', machine),
      async agentConfig(machine, extra = {}) {
        const file = join(root, `agent-${machine}.json`);
        await writeAgentConfig(file, { machine, platform, stateDir: world.stateDirOf(machine), repoUrl: world.repoUrl, allowedSignersFile, extra });
        return file;
      },
      async close() {
        await gitFront?.close();
        await server.close();
        await rm(root, { recursive: true, force: true });
      },
    };
    await world.commit({ 'flotilla.yaml': repoConfigYaml(storeUrl, publisher.public), allowed_signers: allowedSigners }, 'init');
    return world;
  } catch (err) {
    await front?.close();
    await git?.close();
    await rm(root, { recursive: true, force: true });
    throw err;
  }
}
