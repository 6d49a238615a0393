import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { detectPlatform } from '../../src/declarations/agent-config-defaults.js';
import { findFreePort } from '../servers/free-port.js';
import { writeAgentConfig } from '../world/config-files.js';
import type { Machine } from './fleet.js';
import type { Narrator } from './narrator.js';
import { writeMachineServiceEnv, writeServiceSource } from './service.js';
import { flotillaYaml } from './set-yaml.js';
import type { Shell } from './shell.js';

/** Everything the set-up steps made; paths are absolute, `rel` turns them into the short form shown. */
export interface DemoWorld {
  root: string;
  store: string;
  repo: string;
  signingKey: string;
  platform: string;
  v1: string;
  v2: string;
  machines: Machine[];
}


/** Steps 1–3: two versions of the service, the keys, both pushed to a directory store. */
async function buildAndPush(root: string, n: Narrator, sh: Shell): Promise<{ v1: string; v2: string; publisherPublic: string }> {
  n.step('Build two versions of a tiny web service');
  await writeServiceSource(join(root, 'src', 'web-v1'), 'v1', false);
  await writeServiceSource(join(root, 'src', 'web-v2'), 'v2', true);
  n.say('src/web-v1 and src/web-v2: a Node HTTP server that answers "web VERSION on MACHINE", plus');
  n.say('bin/activate (restart the server) and bin/health (GET /healthz). v2 is broken: /healthz answers 500.');
  n.file('src/web-v1/bin/activate', await readFile(join(root, 'src', 'web-v1', 'bin', 'activate'), 'utf8'));

  n.step('Make keys: a publisher key for closures, an SSH key for deploy-repo commits');
  await mkdir(join(root, 'keys'));
  const keygen = await sh.flotilla(['keygen', '--name', 'demo-publisher-1', '--out', 'keys/publisher.secret']);
  await sh.run('ssh-keygen', ['-t', 'ed25519', '-N', '', '-q', '-C', 'release@demo', '-f', 'keys/release']);

  n.step('Push both versions to a directory store (content-addressed, signed)');
  await mkdir(join(root, 'store'));
  const push = (v: string): Promise<string> =>
    sh.flotilla(['push', `src/web-${v}`, '--store', 'store', '--name', 'web', '--sign-key', 'keys/publisher.secret']).then((r) => r.stdout.trim());
  const v1 = await push('v1');
  const v2 = await push('v2');
  await sh.flotilla(['diff', v1, v2, '--store', 'store']);
  return { v1, v2, publisherPublic: keygen.stdout.trim() };
}

/** Step 4: `flotilla init` with the SSH key, then the store and publisher key committed (signed). */
async function createRepo(root: string, n: Narrator, sh: Shell, publisherPublic: string): Promise<void> {
  n.step('Create the signed deploy repo');
  await sh.flotilla(['init', 'deploy', '--signing-key', 'keys/release', '--principal', 'release@demo']);
  // Commits need an identity in the repo itself (flotilla bump reads the repo's config, not ~/.gitconfig).
  await sh.run('git', ['-C', 'deploy', 'config', 'user.name', 'Release Engineer']);
  await sh.run('git', ['-C', 'deploy', 'config', 'user.email', 'release@demo']);
  const config = flotillaYaml(join(root, 'store'), publisherPublic);
  await writeFile(join(root, 'deploy', 'flotilla.yaml'), config);
  n.file('deploy/flotilla.yaml', config);
  await sh.run('git', ['-C', 'deploy', 'rm', '-q', 'sets/example.yaml', 'machines/example-1.yaml']);
  await sh.run('git', ['-C', 'deploy', 'add', 'flotilla.yaml']);
  await sh.run('git', ['-C', 'deploy', 'commit', '-q', '-S', '-m', 'Use the demo store and publisher key']);
  n.say('Machines pin the signers themselves (a copy outside the repo), so the repo cannot vouch for itself:');
  await mkdir(join(root, 'trust'));
  await sh.run('cp', ['deploy/allowed_signers', 'trust/allowed_signers']);
  await sh.flotilla(['validate', '--repo', 'deploy', '--trust-file', 'trust/allowed_signers']);
}

/** Step 5 (files only): each machine's directory, agent config, pinned signers and service settings. */
async function writeMachines(root: string, n: Narrator, platform: string, names: string[]): Promise<Machine[]> {
  const machines: Machine[] = [];
  for (const name of names) {
    const dir = join(root, 'machines', name);
    await mkdir(dir, { recursive: true });
    const port = await findFreePort();
    await writeMachineServiceEnv(dir, name, port);
    const file = join(dir, 'agent.json');
    const config = await writeAgentConfig(file, {
      machine: name, platform, stateDir: join(dir, 'state'), repoUrl: join(root, 'deploy', '.git'),
      allowedSignersFile: join(root, 'trust', 'allowed_signers'),
    });
    if (machines.length === 0) n.file(`machines/${name}/agent.json`, JSON.stringify(config, null, 2));
    machines.push({ name, dir, port, config: file, stateDir: join(dir, 'state'), log: join(dir, 'agent.log') });
  }
  return machines;
}

/** Runs the set-up steps in `root` (an empty temp dir) and returns the world the rollout steps use. */
export async function createDemoWorld(root: string, n: Narrator, sh: Shell): Promise<DemoWorld> {
  const { v1, v2, publisherPublic } = await buildAndPush(root, n, sh);
  await createRepo(root, n, sh, publisherPublic);
  const platform = detectPlatform();
  const machines = await writeMachines(root, n, platform, ['web-1', 'web-2', 'web-3']);
  return { root, store: join(root, 'store'), repo: join(root, 'deploy'), signingKey: join(root, 'keys', 'release'), platform, v1, v2, machines };
}
