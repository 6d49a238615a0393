import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors/index.js';
import { parseAllowedSigners } from '../../src/trust/allowed-signers.js';
import type { CommitTrust } from '../../src/trust/commit-trust.js';
import { verifyAdvance } from '../../src/trust/repo-history.js';
import { createTestRepo, makeScratch, type Scratch, type TestRepo } from '../helpers/git-repo.js';
import { allowedSignersLine, makeSshKey, type SshKey } from '../helpers/ssh-keys.js';

let scratch: Scratch;
let repo: TestRepo;
let alice: SshKey;
let forge: SshKey;
let trust: CommitTrust;

beforeAll(async () => {
  scratch = await makeScratch('history');
  repo = await createTestRepo(scratch.path);
  alice = await makeSshKey(scratch.path, 'alice');
  forge = await makeSshKey(scratch.path, 'forge');
  trust = {
    sshSigners: parseAllowedSigners(allowedSignersLine(alice), 'pinned'),
    pgpKeys: [],
    verify: 'all',
    mergeKeys: { sshSigners: parseAllowedSigners(allowedSignersLine(forge), 'forge'), pgpKeys: [] },
  };
});
afterAll(async () => scratch.cleanup());

async function mergeBy(key: SshKey, other: string): Promise<string> {
  await repo.git(['-c', 'gpg.format=ssh', '-c', `user.signingkey=${key.privateKeyPath}`, 'merge', '-q', '-S', '--no-ff', '--no-edit', other]);
  return repo.rev();
}

describe('verifyAdvance over merges', () => {
  it('lists only commits new since the base, even when a merge brings in an old branch', async () => {
    const root = await repo.commit({ files: { a: '1' }, sign: { ssh: alice } });
    await repo.git(['checkout', '-q', '-b', 'feature']);
    const f1 = await repo.commit({ files: { f: '1' }, sign: { ssh: alice } });
    await repo.git(['checkout', '-q', 'main']);
    const m1 = await repo.commit({ files: { a: '2' }, sign: { ssh: alice } });
    const merge = await mergeBy(alice, 'feature');
    const v = await verifyAdvance({ gitdir: repo.gitdir, head: merge, lastApplied: m1, trust });
    expect(new Set(v.commits)).toEqual(new Set([merge, f1]));
    expect(v.commits).not.toContain(root);
    const same = await verifyAdvance({ gitdir: repo.gitdir, head: merge, lastApplied: merge, trust });
    expect(same.commits).toEqual([]);
    expect(same.signer).toBe(alice.principal);
  });

  it('accepts a forge merge only when the merged-in tip is signed by a pinned key', async () => {
    const base = await repo.rev();
    await repo.git(['checkout', '-q', '-b', 'good-pr']);
    await repo.commit({ files: { g: '1' }, sign: { ssh: alice } });
    await repo.git(['checkout', '-q', 'main']);
    const ok = await mergeBy(forge, 'good-pr');
    expect((await verifyAdvance({ gitdir: repo.gitdir, head: ok, lastApplied: base, trust: { ...trust, verify: 'head' } })).signer).toBe(forge.principal);

    await repo.git(['checkout', '-q', '-b', 'bad-pr']);
    const unsigned = await repo.commit({ files: { b: '1' } });
    await repo.git(['checkout', '-q', 'main']);
    const bad = await mergeBy(forge, 'bad-pr');
    const err = await verifyAdvance({ gitdir: repo.gitdir, head: bad, lastApplied: ok, trust: { ...trust, verify: 'head' } }).catch((e: unknown) => e);
    expect(hasCode(err, 'UntrustedCommitError')).toBe(true);
    expect((err as { data: object }).data).toMatchObject({ oid: unsigned, rule: 'merge-parent', merge: bad, reason: 'unsigned' });
  });

  it('caps the history walk', async () => {
    const head = await repo.rev();
    const first = (await repo.git(['rev-list', '--max-parents=0', head])).trim();
    const err = await verifyAdvance({ gitdir: repo.gitdir, head, lastApplied: first, trust: { ...trust, verify: 'head' }, maxWalk: 2 }).catch((e: unknown) => e);
    expect(hasCode(err, 'SizeLimitError')).toBe(true);
  });

  it('refuses when no keys are pinned', async () => {
    const err = await verifyAdvance({ gitdir: repo.gitdir, head: await repo.rev(), trust: { sshSigners: [], pgpKeys: [], verify: 'head' } }).catch((e: unknown) => e);
    expect(hasCode(err, 'KeyError')).toBe(true);
  });
});
