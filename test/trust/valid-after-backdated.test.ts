// A key's `valid-after` (allowed_signers option) is judged at the commit's own time, not only at the present:
// a commit dated before the key became valid is refused even though the key is valid today. That is what stops
// a key issued in 2024 from signing history that claims to be from 2020. Real repos, real ssh-keygen keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors/index.js';
import { parseAllowedSigners } from '../../src/trust/allowed-signers.js';
import type { CommitTrust } from '../../src/trust/commit-trust.js';
import { verifyCommit } from '../../src/trust/commit-verify.js';
import { verifyAdvance } from '../../src/trust/repo-history.js';
import { createTestRepo, makeScratch, type Scratch, type TestRepo } from '../helpers/git-repo.js';
import { allowedSignersLine, makeSshKey, type SshKey } from '../helpers/ssh-keys.js';

const at = (iso: string): number => Date.parse(iso) / 1000;

let scratch: Scratch;
let repo: TestRepo;
let alice: SshKey;

beforeAll(async () => {
  scratch = await makeScratch('valid-after');
  repo = await createTestRepo(scratch.path);
  alice = await makeSshKey(scratch.path, 'alice');
});
afterAll(async () => scratch.cleanup());

const trustWith = (validAfter: string): CommitTrust => ({
  sshSigners: parseAllowedSigners(allowedSignersLine(alice, { validAfter }), 'pinned'),
  pgpKeys: [],
  verify: 'head',
});

/** The verdict of verifyCommit: the signer, or the UntrustedCommitError reason. */
async function verdict(oid: string, trust: CommitTrust, now?: number | null): Promise<string> {
  try {
    return (await verifyCommit({ gitdir: repo.gitdir, oid, trust, ...(now === undefined ? {} : { now }) })).signer;
  } catch (err) {
    expect(hasCode(err, 'UntrustedCommitError'), String(err)).toBe(true);
    return `refused: ${(err as { data: { reason: string } }).data.reason}`;
  }
}

describe('valid-after later than a back-dated commit', () => {
  // The key is valid from 2024-01-01 on; "today" (the real clock) is later than that in every row.
  const ROWS: Array<{ name: string; date: string; validAfter: string; want: 'ok' | 'refused' }> = [
    { name: 'back-dated years before the key', date: '2020-01-01T00:00:00Z', validAfter: '20240101Z', want: 'refused' },
    { name: 'dated one second before the key', date: '2023-12-31T23:59:59Z', validAfter: '20240101Z', want: 'refused' },
    { name: 'dated at the very second the key starts', date: '2024-01-01T00:00:00Z', validAfter: '20240101Z', want: 'ok' },
    { name: 'dated after the key starts', date: '2025-06-01T12:00:00Z', validAfter: '20240101Z', want: 'ok' },
    { name: 'control: the same back-dated commit, the key valid since before it', date: '2020-01-01T00:00:00Z', validAfter: '20190101Z', want: 'ok' },
  ];

  it.each(ROWS)('$name → $want', async ({ date, validAfter, want }) => {
    const oid = await repo.commit({ files: { 'a.txt': `${date}\n` }, sign: { ssh: alice }, date: at(date) });
    const trust = trustWith(validAfter);
    const expected = want === 'ok' ? alice.principal : 'refused: outside-validity';
    expect(await verdict(oid, trust)).toBe(expected);
    // Judged at commit time only (showing history): the same answer, the present cannot rescue it.
    expect(await verdict(oid, trust, null)).toBe(expected);
  });

  it('the agent\'s check of a new HEAD refuses it too, from a trusted base', async () => {
    const trust = trustWith('20240101Z');
    const base = await repo.commit({ files: { 'a.txt': 'base\n' }, sign: { ssh: alice }, date: at('2024-02-01T00:00:00Z') });
    expect((await verifyAdvance({ gitdir: repo.gitdir, head: base, trust })).signer).toBe(alice.principal);
    const backdated = await repo.commit({ files: { 'a.txt': 'back-dated\n' }, sign: { ssh: alice }, date: at('2021-03-04T05:06:07Z') });
    const err = await verifyAdvance({ gitdir: repo.gitdir, head: backdated, lastApplied: base, trust }).catch((e: unknown) => e);
    expect(hasCode(err, 'UntrustedCommitError'), String(err)).toBe(true);
    expect((err as { data: Record<string, unknown> }).data).toMatchObject({ oid: backdated, reason: 'outside-validity' });
  });
});
