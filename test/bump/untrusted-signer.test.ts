import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectPlatform } from '../../src/declarations/index.js';
import type { Digest } from '../../src/store/digest.js';
import { loadCommitTrust } from '../../src/trust/commit-trust.js';
import { verifyAdvance } from '../../src/trust/repo-history.js';
import { createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { runTool } from '../helpers/git-repo.js';
import { makeGpgKey, stopGpgAgent, type GpgKey } from '../helpers/gpg.js';
import { allowedSignersLine, makeSshKey, type SshKey } from '../helpers/ssh-keys.js';
import { dataOf } from '../helpers/cli-json.js';

const setYaml = (digest: string): string => `closure: "${digest}"\nplatform: ${detectPlatform()}\nmachines: [web-1]\n`;

async function fingerprintOf(key: SshKey): Promise<string> {
  return (await runTool('ssh-keygen', ['-lf', key.publicKeyPath])).split(' ')[1]!;
}

// bump and revert check the signing key against allowed_signers at the base commit before writing anything,
// because every agent judges the new commit by that file.
describe('bump and revert with a signer allowed_signers does not accept', () => {
  let world: DeployWorld;
  let v1: Digest;
  let v2: Digest;
  let base: string;
  const keys: Record<string, SshKey> = {};
  let gpg: GpgKey;

  beforeAll(async () => {
    world = await createDeployWorld();
    [v1, v2] = [await world.pushService('1.0.0'), await world.pushService('2.0.0')];
    for (const name of ['stranger', 'scoped', 'expired']) keys[name] = await makeSshKey(world.root, name);
    const lines = [
      allowedSignersLine(world.signer),
      allowedSignersLine(keys['scoped']!, { namespaces: 'file' }),
      allowedSignersLine(keys['expired']!, { validBefore: '20200101' }),
    ];
    await world.commit({ allowed_signers: `${lines.join('\n')}\n`, 'sets/web.yaml': setYaml(v1) }, 'add web; scoped and expired signers');
    base = await world.work.rev();
    gpg = await makeGpgKey(world.root, 'releaser');
  });
  afterAll(async () => {
    if (gpg) await stopGpgAgent(gpg);
    await world?.close();
  });

  it.each([
    ['bump', 'stranger', 'it is not listed there'],
    ['bump', 'scoped', 'it is listed, but not for the namespace "git"'],
    ['bump', 'expired', 'it is listed, but not valid now (valid-after/valid-before)'],
    ['revert', 'stranger', 'it is not listed there'],
  ])('%s signed by %s is refused naming the key and the file; nothing is written', async (verb, name, why) => {
    const key = keys[name]!;
    const args = verb === 'bump' ? ['bump', 'web', v2] : ['revert', 'web', '--to', v2];
    const before = { head: await world.work.rev(), text: await readFile(join(world.work.dir, 'sets', 'web.yaml'), 'utf8') };
    const r = await runCli([...args, '--repo', world.work.dir, '--sign-key', key.privateKeyPath, '--json']);
    expect(r.code).toBe(1);
    const err = (JSON.parse(r.stdout) as { error: { code: string; message: string; data: Record<string, unknown> } }).error;
    expect(err.code).toBe('KeyError');
    expect(err.data).toMatchObject({ fingerprint: await fingerprintOf(key), file: 'allowed_signers', base });
    expect(err.message).toContain(`the signing key ${await fingerprintOf(key)} (${key.privateKeyPath}) is not trusted by allowed_signers at ${base.slice(0, 12)}: ${why}`);
    expect(err.message).toContain('--allow-untrusted-signer');
    expect(await world.work.rev()).toBe(before.head);
    expect(await readFile(join(world.work.dir, 'sets', 'web.yaml'), 'utf8')).toBe(before.text);
  });

  it('--allow-untrusted-signer commits with a warning, and an agent indeed refuses that commit', async () => {
    const r = await runCli(['bump', 'web', v2, '--repo', world.work.dir, '--sign-key', keys['stranger']!.privateKeyPath, '--allow-untrusted-signer']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`warning: the signing key ${await fingerprintOf(keys['stranger']!)}`);
    expect(r.stdout).toContain('(committed anyway: --allow-untrusted-signer)');
    const head = await world.work.rev();
    expect(head).not.toBe(base);
    const trust = await loadCommitTrust({ allowedSignersFile: world.allowedSignersFile });
    await expect(verifyAdvance({ gitdir: world.work.gitdir, head, lastApplied: base, trust })).rejects.toMatchObject({ code: 'UntrustedCommitError', data: { reason: 'unknown-key' } });
    // Back to the trusted state for the next test: the trusted signer passes the check without a warning.
    const back = await runCli(['revert', 'web', '--to', v1, '--repo', world.work.dir, '--sign-key', world.signer.privateKeyPath]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).not.toContain('warning:');
  });

  it('an OpenPGP signer is not refused (allowed_signers cannot list it) but the output says it was not checked', async () => {
    const secretFile = join(world.root, 'releaser.asc');
    await writeFile(secretFile, await runTool('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--armor', '--export-secret-keys', gpg.fingerprint], { env: { GNUPGHOME: gpg.gnupgHome } }));
    const r = await runCli(['bump', 'web', v2, '--repo', world.work.dir, '--gpg-key', secretFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((dataOf<{ warnings: string[] }>(r.stdout)).warnings).toEqual([
      `OpenPGP key ${gpg.fingerprint.toUpperCase()} was not checked: allowed_signers lists SSH keys only; agents accept the commit only if this key is in their pinned pgpKeysFiles`,
    ]);
  });
});
