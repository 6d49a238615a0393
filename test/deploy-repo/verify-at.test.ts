import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDeclarationsAt, verifyAt, type TrustPolicy, type Verification } from '../../src/deploy-repo/index.js';
import { loadCommitTrust, type CommitTrust } from '../../src/trust/commit-trust.js';
import { CONFIG } from '../declarations/fixtures.js';
import { createTestRepo, makeScratch, type Scratch, type TestRepo } from '../helpers/git-repo.js';
import { makeGpgKey, stopGpgAgent, type GpgKey } from '../helpers/gpg.js';
import { allowedSignersLine, makeSshKey, writeAllowedSigners, type SshKey } from '../helpers/ssh-keys.js';

let scratch: Scratch;
let repo: TestRepo;
let alice: SshKey;
let mallory: SshKey;
let gpg: GpgKey;
let pinned: CommitTrust;
let pinnedPgp: CommitTrust;
const at: Record<string, string> = {};

function refusal(v: Verification): { code: string; data: Record<string, unknown> } {
  expect(v.ok, JSON.stringify(v)).toBe(false);
  return (v as { ok: false; error: { code: string; data: Record<string, unknown> } }).error;
}

beforeAll(async () => {
  scratch = await makeScratch('verify-at');
  alice = await makeSshKey(scratch.path, 'alice');
  mallory = await makeSshKey(scratch.path, 'mallory');
  gpg = await makeGpgKey(scratch.path, 'pgp');
  const signersFile = join(scratch.path, 'pinned_signers');
  await writeAllowedSigners(signersFile, [alice]);
  pinned = await loadCommitTrust({ allowedSignersFile: signersFile });
  const pgpFile = join(scratch.path, 'pinned.asc');
  await writeFile(pgpFile, gpg.armoredPublicKey);
  pinnedPgp = await loadCommitTrust({ pgpKeyFiles: [pgpFile] });
  repo = await createTestRepo(scratch.path);
  at['root'] = await repo.commit({ files: { 'flotilla.yaml': CONFIG, allowed_signers: `${allowedSignersLine(alice)}\n` }, sign: { ssh: alice } });
  at['second'] = await repo.commit({ files: { 'a.txt': '2\n' }, sign: { ssh: alice } });
  at['unsigned'] = await repo.commit({ files: { 'a.txt': '3\n' }, sign: null });
  at['mallory'] = await repo.commit({ files: { 'a.txt': '4\n' }, sign: { ssh: mallory } });
  at['pgp'] = await repo.commit({ files: { 'a.txt': '5\n' }, sign: { gpg } });
  at['noSigners'] = await repo.commit({ files: { allowed_signers: null }, sign: { ssh: alice } });
  await repo.git(['checkout', '-q', '-b', 'side', at['root']]);
  at['sibling'] = await repo.commit({ files: { 'b.txt': 'x\n' }, sign: { ssh: alice } });
});
afterAll(async () => {
  await stopGpgAgent(gpg);
  await scratch.cleanup();
});

describe('verifyAt under a pinned trust (one commit)', () => {
  it('an SSH-signed commit by a pinned key: ok, who and how', async () => {
    expect(await verifyAt(repo.gitdir, at['second']!, { kind: 'pinned', trust: pinned })).toMatchObject({ ok: true, signer: alice.principal, format: 'ssh' });
  });

  it('an OpenPGP-signed commit by a pinned key: ok', async () => {
    expect(await verifyAt(repo.gitdir, at['pgp']!, { kind: 'pinned', trust: pinnedPgp })).toMatchObject({ ok: true, format: 'openpgp' });
  });

  it.each([
    ['unsigned', 'unsigned'],
    ['mallory', 'unknown-key'],
    ['pgp', 'unknown-key'],
  ])('%s: refused as data, UntrustedCommitError with the reason %s', async (name, reason) => {
    const err = refusal(await verifyAt(repo.gitdir, at[name]!, { kind: 'pinned', trust: pinned }));
    expect(err.code).toBe('UntrustedCommitError');
    expect(err.data).toMatchObject({ oid: at[name], reason });
  });

  it('no keys at all: KeyError as data (verification is never off by omission)', async () => {
    expect(refusal(await verifyAt(repo.gitdir, at['second']!, { kind: 'pinned', trust: { sshSigners: [], pgpKeys: [], verify: 'head' } })).code).toBe('KeyError');
  });
});

describe('verifyAt with history rules (the agent)', () => {
  const history = (h: { lastApplied?: string; minimumCommit?: string }): TrustPolicy => ({ kind: 'pinned', trust: pinned, history: h });

  it('a signed descendant of the last applied commit: ok', async () => {
    expect(await verifyAt(repo.gitdir, at['second']!, history({ lastApplied: at['root']! }))).toMatchObject({ ok: true, signer: alice.principal });
  });

  it.each([
    ['behind the last applied commit', 'root', { lastApplied: 'second' }, 'behind-last-applied'],
    ['a sibling of the last applied commit', 'sibling', { lastApplied: 'second' }, 'behind-last-applied'],
    ['not above the pinned floor', 'sibling', { minimumCommit: 'second' }, 'below-floor'],
  ] as const)('%s: RollbackError as data', async (_what, head, rel, reason) => {
    const h = Object.fromEntries(Object.entries(rel).map(([k, v]) => [k, at[v]!]));
    const err = refusal(await verifyAt(repo.gitdir, at[head]!, history(h)));
    expect(err.code).toBe('RollbackError');
    expect(err.data['reason']).toBe(reason);
  });

  it('without history the same sibling passes: the rules apply only when asked for', async () => {
    expect((await verifyAt(repo.gitdir, at['sibling']!, { kind: 'pinned', trust: pinned })).ok).toBe(true);
  });
});

describe("verifyAt under the repo's own allowed_signers (self)", () => {
  it('a commit signed by a key its own tree lists: ok', async () => {
    const read = await readDeclarationsAt(repo.gitdir, at['second']!);
    expect(await verifyAt(repo.gitdir, at['second']!, { kind: 'self', read })).toMatchObject({ ok: true, signer: alice.principal });
  });

  it('a commit signed by a key its tree does not list: UntrustedCommitError', async () => {
    const read = await readDeclarationsAt(repo.gitdir, at['mallory']!);
    expect(refusal(await verifyAt(repo.gitdir, at['mallory']!, { kind: 'self', read })).data['reason']).toBe('unknown-key');
  });

  it('a tree without allowed_signers: KeyError, even for a well-signed commit', async () => {
    const read = await readDeclarationsAt(repo.gitdir, at['noSigners']!);
    expect(refusal(await verifyAt(repo.gitdir, at['noSigners']!, { kind: 'self', read })).code).toBe('KeyError');
  });
});
