import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors/index.js';
import { parseAllowedSigners } from '../../src/trust/allowed-signers.js';
import type { CommitTrust } from '../../src/trust/commit-trust.js';
import { loadCommitTrust } from '../../src/trust/commit-trust.js';
import { verifyCommit } from '../../src/trust/commit-verify.js';
import { readPgpKeyring } from '../../src/trust/openpgp-verify.js';
import { createTestRepo, makeScratch, type Scratch, type TestRepo } from '../helpers/git-repo.js';
import { makeGpgKey, stopGpgAgent, type GpgKey } from '../helpers/gpg.js';
import { allowedSignersLine, makeSshKey, sshSignData, type SshKey } from '../helpers/ssh-keys.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

let scratch: Scratch;
let repo: TestRepo;
let alice: SshKey;
let mallory: SshKey;
let bob: GpgKey;
let eve: GpgKey;
let trust: CommitTrust;

async function untrusted(oid: string, t: CommitTrust = trust): Promise<string> {
  const err = await verifyCommit({ gitdir: repo.gitdir, oid, trust: t }).catch((e: unknown) => e);
  expect(hasCode(err, 'UntrustedCommitError'), String(err)).toBe(true);
  expect((err as { data: { oid: string } }).data.oid).toBe(oid);
  return (err as { data: { reason: string } }).data.reason;
}

beforeAll(async () => {
  scratch = await makeScratch('verify');
  repo = await createTestRepo(scratch.path);
  alice = await makeSshKey(scratch.path, 'alice');
  mallory = await makeSshKey(scratch.path, 'mallory');
  bob = await makeGpgKey(scratch.path, 'bob');
  eve = await makeGpgKey(scratch.path, 'eve');
  trust = {
    sshSigners: parseAllowedSigners(allowedSignersLine(alice), 'pinned'),
    pgpKeys: await readPgpKeyring([bob.armoredPublicKey], 'bob.asc'),
    verify: 'head',
  };
});
afterAll(async () => {
  await stopGpgAgent(bob);
  await stopGpgAgent(eve);
  await scratch.cleanup();
});

describe('verifyCommit', () => {
  it('accepts SSH and OpenPGP commits by trusted keys and names the signer', async () => {
    const a = await repo.commit({ files: { 'a.txt': '1\n' }, sign: { ssh: alice } });
    const ok = await verifyCommit({ gitdir: repo.gitdir, oid: a, trust });
    expect(ok).toMatchObject({ oid: a, signer: alice.principal, format: 'ssh', viaMergeKey: false });
    expect(ok.fingerprint).toMatch(/^SHA256:/);
    const b = await repo.commit({ files: { 'a.txt': '2\n' }, sign: { gpg: bob } });
    expect(await verifyCommit({ gitdir: repo.gitdir, oid: b, trust })).toMatchObject({ format: 'openpgp', signer: `bob <${bob.email}>`, fingerprint: bob.fingerprint });
  });

  it('refuses unsigned commits and unknown keys (SSH and OpenPGP)', async () => {
    expect(await untrusted(await repo.commit({ files: { 'a.txt': '3\n' } }))).toBe('unsigned');
    expect(await untrusted(await repo.commit({ files: { 'a.txt': '4\n' }, sign: { ssh: mallory } }))).toBe('unknown-key');
    expect(await untrusted(await repo.commit({ files: { 'a.txt': '5\n' }, sign: { gpg: eve } }))).toBe('unknown-key');
  });

  it('refuses a tampered message or tree line kept with the old signature', async () => {
    for (const sign of [{ ssh: alice }, { gpg: bob }]) {
      const good = await repo.commit({ files: { 'a.txt': `${Math.random()}\n` }, sign, message: 'deploy web v2' });
      const raw = await repo.catCommit(good);
      const msg = await repo.writeRawObject('commit', raw.replace('deploy web v2', 'deploy web v3'));
      expect(await untrusted(msg)).toBe('bad-signature');
      const otherTree = (await repo.git(['rev-parse', `${good}~1^{tree}`])).trim();
      const tree = await repo.writeRawObject('commit', raw.replace(/^tree [0-9a-f]{40}$/m, `tree ${otherTree}`));
      expect(await untrusted(tree)).toBe('bad-signature');
    }
  });

  it('refuses an SSH signature made for another namespace', async () => {
    const unsigned = await repo.commit({ files: { 'a.txt': 'ns\n' } });
    const payload = await repo.catCommit(unsigned);
    const oid = await repo.writeSignedCommit(payload, await sshSignData(alice, payload, 'file'));
    expect(await untrusted(oid)).toBe('wrong-namespace');
    const good = await repo.writeSignedCommit(payload, await sshSignData(alice, payload, 'git'));
    expect((await verifyCommit({ gitdir: repo.gitdir, oid: good, trust })).signer).toBe(alice.principal);
  });

  it('honours namespaces= and valid-after/valid-before of the signer line', async () => {
    const oid = await repo.commit({ files: { 'a.txt': 'window\n' }, sign: { ssh: alice } });
    const only = (opts: Parameters<typeof allowedSignersLine>[1]): CommitTrust => ({ ...trust, sshSigners: parseAllowedSigners(allowedSignersLine(alice, opts), 'pinned') });
    expect(await untrusted(oid, only({ namespaces: 'file' }))).toBe('wrong-namespace');
    expect((await verifyCommit({ gitdir: repo.gitdir, oid, trust: only({ namespaces: 'file,g*' }) })).format).toBe('ssh');
    expect(await untrusted(oid, only({ validBefore: '20200101Z' }))).toBe('outside-validity');
    expect(await untrusted(oid, only({ validAfter: '29990101Z' }))).toBe('outside-validity');
    // Valid when the commit was made (test clock, 2023) but retired since: refused now, shown in history.
    const retired = only({ validBefore: '20240101Z' });
    expect(await untrusted(oid, retired)).toBe('outside-validity');
    expect((await verifyCommit({ gitdir: repo.gitdir, oid, trust: retired, now: null })).signer).toBe(alice.principal);
  });

  it('refuses a commit by the right key but the wrong OpenPGP keyring', async () => {
    const oid = await repo.commit({ files: { 'a.txt': 'pgp\n' }, sign: { gpg: bob } });
    const wrong: CommitTrust = { ...trust, pgpKeys: await readPgpKeyring([eve.armoredPublicKey], 'eve.asc') };
    expect(await untrusted(oid, wrong)).toBe('unknown-key');
  });

  it('accepts a forge merge key only on merge commits', async () => {
    const base = await repo.rev();
    const feature = await repo.commit({ files: { 'f.txt': 'f\n' }, sign: { ssh: alice } });
    await repo.git(['checkout', '-q', '-b', 'side', base]);
    await repo.commit({ files: { 's.txt': 's\n' }, sign: { ssh: alice } });
    await repo.git(['-c', 'gpg.format=ssh', '-c', `user.signingkey=${mallory.privateKeyPath}`, 'merge', '-q', '-S', '--no-edit', feature]);
    const merge = await repo.rev();
    const withForge: CommitTrust = { ...trust, mergeKeys: { sshSigners: parseAllowedSigners(allowedSignersLine(mallory), 'forge'), pgpKeys: [] } };
    expect(await untrusted(merge)).toBe('unknown-key');
    expect(await verifyCommit({ gitdir: repo.gitdir, oid: merge, trust: withForge })).toMatchObject({ viaMergeKey: true, signer: mallory.principal });
    const single = await repo.commit({ files: { 'x.txt': 'x\n' }, sign: { ssh: mallory } });
    expect(await untrusted(single, withForge)).toBe('unknown-key');
    await repo.git(['checkout', '-q', 'main']);
  });

  it('refuses to run with no keys, an empty or unreadable key file, unless insecureSkipVerify', async () => {
    const oid = await repo.rev();
    const none = await verifyCommit({ gitdir: repo.gitdir, oid, trust: { sshSigners: [], pgpKeys: [], verify: 'head' } }).catch((e: unknown) => e);
    expect(hasCode(none, 'KeyError')).toBe(true);
    const empty = join(scratch.path, 'empty_signers');
    await writeFile(empty, '# nobody\n');
    expect(hasCode(await loadCommitTrust({ allowedSignersFile: empty }).catch((e: unknown) => e), 'KeyError')).toBe(true);
    expect(hasCode(await loadCommitTrust({ allowedSignersFile: join(scratch.path, 'missing') }).catch((e: unknown) => e), 'KeyError')).toBe(true);
    expect(hasCode(await loadCommitTrust({}).catch((e: unknown) => e), 'KeyError')).toBe(true);
    const pgpEmpty = join(scratch.path, 'empty.asc');
    await writeFile(pgpEmpty, '');
    expect(hasCode(await loadCommitTrust({ pgpKeyFiles: [pgpEmpty] }).catch((e: unknown) => e), 'KeyError')).toBe(true);
    const skip = await loadCommitTrust({ insecureSkipVerify: true });
    expect((await verifyCommit({ gitdir: repo.gitdir, oid, trust: skip })).format).toBe('none');
  });
});
