import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCommitTrust } from '../../src/trust/commit-trust.js';
import { verifyCommit } from '../../src/trust/commit-verify.js';
import type { Digest } from '../../src/store/digest.js';
import { detectPlatform } from '../../src/declarations/index.js';
import { writeQuarantine } from '../../src/rollout/quarantine.js';
import { openStore } from '../../src/store/open-store.js';
import { createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { runTool } from '../helpers/git-repo.js';
import { makeGpgKey, stopGpgAgent, type GpgKey } from '../helpers/gpg.js';
import { writeServicePackage } from '../helpers/service-package.js';
import { dataOf } from '../helpers/cli-json.js';

// Comments, blank lines, quoting and key order a person would write; bump may change only the digest.
const setYaml = (digest: string): string => `# web: the public site
# owner: platform team

closure: "${digest}"   # bumped by CI
platform: ${detectPlatform()}

machines:
  - web-1   # rack A
  - web-2

rollout:
  batchSize: 1
  canary: 1
`;

describe('flotilla bump', () => {
  let world: DeployWorld;
  let v1: Digest;
  let v2: Digest;
  let unsigned: Digest;
  let gpg: GpgKey;

  beforeAll(async () => {
    world = await createDeployWorld();
    v1 = await world.pushService('1.0.0');
    v2 = await world.pushService('2.0.0');
    const dir = join(world.root, 'src', 'unsigned');
    await writeServicePackage(dir, '3.0.0');
    const r = await runCli(['push', dir, '--store', world.storeUrl, '--name', 'svc']);
    expect(r.code, r.stderr).toBe(0);
    unsigned = r.stdout.trim() as Digest;
    await world.commit({ 'sets/web.yaml': setYaml(v1), 'sets/api.yaml': setYaml(v1).replace('web-1', 'api-1').replace('web-2', 'api-2') }, 'add web and api');
    gpg = await makeGpgKey(world.root, 'releaser');
  });
  afterAll(async () => {
    if (gpg) await stopGpgAgent(gpg);
    await world?.close();
  });

  const head = (): Promise<string> => world.work.rev();
  const file = (name: string): Promise<string> => readFile(join(world.work.dir, 'sets', `${name}.yaml`), 'utf8');

  it('refuses a digest the store does not have, naming it, and changes nothing', async () => {
    const before = { head: await head(), text: await file('web') };
    const missing = `sha256:${'0'.repeat(64)}`;
    const r = await runCli(['bump', 'web', missing, '--repo', world.work.dir, '--sign-key', world.signer.privateKeyPath]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/NotFoundError/);
    expect(r.stderr).toContain('0000000000');
    expect(await head()).toBe(before.head);
    expect(await file('web')).toBe(before.text);
  });

  it('refuses a closure without a trusted signature, with the reason, and changes nothing', async () => {
    const before = { head: await head(), text: await file('web') };
    const r = await runCli(['bump', 'web', unsigned, '--repo', world.work.dir, '--sign-key', world.signer.privateKeyPath, '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; message: string } };
    expect(out.error.code).toBe('SignatureError');
    expect(out.error.message).toMatch(/0 valid signature\(s\)/);
    expect(await head()).toBe(before.head);
    expect(await file('web')).toBe(before.text);
  });

  it('refuses a digest quarantined in the set, naming the way out, and changes nothing', async () => {
    const bad = await world.pushService('6.6.6');
    const store = openStore(world.storeUrl);
    await writeQuarantine(store, 'web', bad, { machine: 'web-1', reason: 'HealthCheckFailed', message: 'boom', time: new Date().toISOString() });
    await store.close();
    const before = await head();
    const r = await runCli(['bump', 'web', bad, '--repo', world.work.dir, '--sign-key', world.signer.privateKeyPath]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/QuarantinedError: .* quarantined in set web \(failed on web-1\); fix it and run flotilla unquarantine web/);
    expect(await head()).toBe(before);
  });

  it('edits only the digest, commits signed; git verify-commit and Flotilla verifyCommit accept it', async () => {
    const before = await file('web');
    const parent = await head();
    const r = await runCli(['bump', 'web', v2, '--repo', world.work.dir, '--sign-key', world.signer.privateKeyPath, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = dataOf<{ commit: string; changes: Array<{ set: string; from: string; to: string }>; packages: string[] }>(r.stdout);
    expect(out.changes).toEqual([{ set: 'web', file: 'sets/web.yaml', from: v1, to: v2 }]);
    expect(await file('web')).toBe(before.replace(v1, v2));
    expect(await head()).toBe(out.commit);
    expect(await world.work.rev('HEAD~1')).toBe(parent);
    expect(await world.work.git(['status', '--porcelain'])).toBe('');
    const committed = await world.work.git(['show', `${out.commit}:sets/web.yaml`]);
    expect(committed).toBe(before.replace(v1, v2));
    expect(await world.work.git(['diff', '--name-only', 'HEAD~1', 'HEAD'])).toBe('sets/web.yaml\n');
    const message = await world.work.git(['log', '-1', '--format=%B']);
    expect(message).toContain(`web: ${v1} -> ${v2}`);
    expect(message).toContain('packages: svc');
    // Rejects (non-zero exit) unless git itself accepts the in-process SSH signature.
    await world.work.git(['-c', `gpg.ssh.allowedSignersFile=${world.allowedSignersFile}`, 'verify-commit', 'HEAD']);
    const trust = await loadCommitTrust({ allowedSignersFile: world.allowedSignersFile });
    const v = await verifyCommit({ gitdir: world.work.gitdir, oid: out.commit, trust });
    expect(v).toMatchObject({ format: 'ssh', signer: world.signer.principal });
  });

  it('--where-digest bumps every set on the old digest in one commit; --branch leaves the work tree alone', async () => {
    // web is on v2 now; api is still on v1.
    const mainBefore = await head();
    const r = await runCli(['bump', '--where-digest', v1, v2, '--repo', world.work.dir, '--sign-key', world.signer.privateKeyPath, '--branch', 'bump-api', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = dataOf<{ commit: string; ref: string; changes: Array<{ set: string }> }>(r.stdout);
    expect(out.changes.map((c) => c.set)).toEqual(['api']);
    expect(out.ref).toBe('refs/heads/bump-api');
    expect(await head()).toBe(mainBefore);
    expect(await world.work.rev('bump-api')).toBe(out.commit);
    expect(await file('api')).toContain(v1);
    expect(await world.work.git(['show', 'bump-api:sets/api.yaml'])).toBe(setYaml(v2).replace('web-1', 'api-1').replace('web-2', 'api-2'));
  });

  it('signs with an OpenPGP key (--gpg-key) that verifyCommit accepts', async () => {
    const secretFile = join(world.root, 'releaser.asc');
    const secret = await runTool('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--armor', '--export-secret-keys', gpg.fingerprint], { env: { GNUPGHOME: gpg.gnupgHome } });
    await writeFile(secretFile, secret);
    const r = await runCli(['bump', 'web', v1, '--repo', world.work.dir, '--gpg-key', secretFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = dataOf<{ commit: string }>(r.stdout);
    const pub = join(world.root, 'releaser.pub.asc');
    await writeFile(pub, gpg.armoredPublicKey);
    const v = await verifyCommit({ gitdir: world.work.gitdir, oid: out.commit, trust: await loadCommitTrust({ pgpKeyFiles: [pub] }) });
    expect(v.format).toBe('openpgp');
    await world.work.git(['verify-commit', out.commit], { env: { GNUPGHOME: gpg.gnupgHome } });
  });

  it('--no-commit edits the file only; refuses to commit over uncommitted edits', async () => {
    const parent = await head();
    const r = await runCli(['bump', 'web', v2, '--repo', world.work.dir, '--no-commit']);
    expect(r.code, r.stderr).toBe(0);
    expect(await head()).toBe(parent);
    expect(await file('web')).toContain(v2);
    const again = await runCli(['bump', 'web', v2, '--repo', world.work.dir, '--sign-key', world.signer.privateKeyPath]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/PreconditionFailedError: sets\/web.yaml has uncommitted changes/);
    await world.work.git(['checkout', '--', 'sets/web.yaml']);
  });

  it('refuses without a signing key, and an unknown set', async () => {
    const noKey = await runCli(['bump', 'web', v2, '--repo', world.work.dir]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/--sign-key/);
    const unknown = await runCli(['bump', 'nope', v2, '--repo', world.work.dir, '--sign-key', world.signer.privateKeyPath]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/set nope is not declared/);
  });
  it('commits into a bare repo (no work tree); identity from FLOTILLA_GIT_AUTHOR_NAME/EMAIL when the repo has none', async () => {
    const bare = join(world.root, 'served', 'deploy.git');
    const args = ['bump', 'web', v2, '--repo', bare, '--sign-key', world.signer.privateKeyPath, '--json'];
    // No identity anywhere: not in the repo, and no global git config (this machine may have one).
    const home = join(world.root, 'empty-home');
    await mkdir(home, { recursive: true });
    const isolated = { HOME: home, XDG_CONFIG_HOME: join(home, '.config') };
    const noIdentity = await runCli(args, { env: isolated });
    expect(noIdentity.code).toBe(1);
    expect(noIdentity.stderr).toMatch(/ConfigError: no commit identity/);
    const r = await runCli(args, { env: { ...isolated, FLOTILLA_GIT_AUTHOR_NAME: 'Release Bot', FLOTILLA_GIT_AUTHOR_EMAIL: 'bot@example.test' } });
    expect(r.code, r.stderr).toBe(0);
    const out = dataOf<{ commit: string; ref: string }>(r.stdout);
    expect(out.ref).toBe('refs/heads/main');
    expect(await runTool('git', ['--git-dir', bare, 'rev-parse', 'main'])).toBe(`${out.commit}\n`);
    expect(await runTool('git', ['--git-dir', bare, 'log', '-1', '--format=%an <%ae>', 'main'])).toBe('Release Bot <bot@example.test>\n');
    await runTool('git', ['--git-dir', bare, '-c', `gpg.ssh.allowedSignersFile=${world.allowedSignersFile}`, 'verify-commit', out.commit]);
  });
});
