// Every "Trust" row of THREATS.md against real repos served by git http-backend: each bad HEAD is refused
// with its code, nothing is applied (the high-water mark does not move), and a later good commit is accepted.
import { rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors/index.js';
import { highWaterMarkFile } from '../../src/generations/layout.js';
import { readHighWaterMark, writeHighWaterMark } from '../../src/git/high-water-mark.js';
import { readTreeFiles } from '../../src/git/read-tree.js';
import { syncRepo } from '../../src/git/sync-repo.js';
import { parseAllowedSigners } from '../../src/trust/allowed-signers.js';
import type { CommitTrust } from '../../src/trust/commit-trust.js';
import { readPgpKeyring } from '../../src/trust/openpgp-verify.js';
import { verifyAdvance, type AdvanceVerdict } from '../../src/trust/repo-history.js';
import { createBareRepo, createTestRepo, makeScratch, type Scratch, type TestRepo } from '../helpers/git-repo.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.js';
import { makeGpgKey, stopGpgAgent, type GpgKey } from '../helpers/gpg.js';
import { allowedSignersLine, makeSshKey, sshSignData, type SshKey } from '../helpers/ssh-keys.js';

let scratch: Scratch;
let server: GitHttpServer;
let repo: TestRepo;
let bare: string;
let url: string;
let alice: SshKey;
let bob: SshKey;
let mallory: SshKey;
let carol: GpgKey;
let eve: GpgKey;
let trust: CommitTrust;
let stateDir: string;
let cacheDir: string;
let n = 0;

const isDecl = (p: string): boolean => p === 'flotilla.yaml' || p === 'allowed_signers' || /^sets\/[^/]+\.yaml$/.test(p);

/** One agent tick as the reconcile loop will run it: sync, judge, read declarations, then record. */
async function tick(t: CommitTrust = trust, minimumCommit?: string): Promise<AdvanceVerdict & { files: Map<string, Uint8Array> }> {
  const sync = await syncRepo({ url, branch: 'main', cacheDir });
  const mark = await readHighWaterMark(highWaterMarkFile(stateDir));
  const verdict = await verifyAdvance({ gitdir: sync.gitdir, head: sync.head, ...(mark !== null ? { lastApplied: mark.commit } : {}), ...(minimumCommit !== undefined ? { minimumCommit } : {}), trust: t });
  const files = await readTreeFiles({ gitdir: sync.gitdir, oid: sync.head, include: isDecl });
  await writeHighWaterMark(highWaterMarkFile(stateDir), sync.head, 'main');
  return { ...verdict, files };
}

/** Asserts the tick fails with `code` and that nothing was applied. */
async function refused(code: string, t: CommitTrust = trust, minimumCommit?: string): Promise<Record<string, unknown>> {
  const before = await readHighWaterMark(highWaterMarkFile(stateDir));
  const err = await tick(t, minimumCommit).catch((e: unknown) => e);
  expect(hasCode(err, code), String(err)).toBe(true);
  expect(await readHighWaterMark(highWaterMarkFile(stateDir))).toEqual(before);
  return (err as { data: Record<string, unknown> }).data;
}

async function publish(): Promise<string> {
  await repo.pushTo(bare);
  return repo.rev();
}

/** Starts a fresh history branch from `oid` in the work tree (the test's own repo). */
async function resetTo(oid: string): Promise<void> {
  await repo.git(['reset', '-q', '--hard', oid]);
}

const good = (sign: SshKey = alice) => repo.commit({ files: { 'sets/web.yaml': `closure: v${++n}\n` }, sign: { ssh: sign } });

/** A hand-built commit over `tree` on top of HEAD, SSH-signed by `key` (namespace git). */
async function signedRawCommit(tree: string, key: SshKey): Promise<string> {
  const t = 1_800_000_000 + ++n;
  const payload = `tree ${tree}\nparent ${await repo.rev()}\nauthor T <t@example.test> ${t} +0000\ncommitter T <t@example.test> ${t} +0000\n\nraw ${n}\n`;
  const oid = await repo.writeSignedCommit(payload, await sshSignData(key, payload));
  await repo.setBranch('main', oid);
  await repo.git(['reset', '-q', '--hard', oid]).catch(() => undefined);
  return oid;
}

beforeAll(async () => {
  scratch = await makeScratch('threats');
  alice = await makeSshKey(scratch.path, 'alice');
  bob = await makeSshKey(scratch.path, 'bob', 'ecdsa256');
  mallory = await makeSshKey(scratch.path, 'mallory');
  carol = await makeGpgKey(scratch.path, 'carol');
  eve = await makeGpgKey(scratch.path, 'eve');
  trust = {
    sshSigners: parseAllowedSigners([allowedSignersLine(alice), allowedSignersLine(bob)].join('\n'), 'agent.allowed_signers'),
    pgpKeys: await readPgpKeyring([carol.armoredPublicKey], 'carol.asc'),
    verify: 'head',
  };
  server = await startGitHttpServer(join(scratch.path, 'srv'));
});
afterAll(async () => {
  await server.close();
  await stopGpgAgent(carol);
  await stopGpgAgent(eve);
  await scratch.cleanup();
});
beforeEach(async (ctx) => {
  const name = `r${ctx.task.id.replace(/[^a-z0-9]/gi, '')}`;
  repo = await createTestRepo(scratch.path, name);
  bare = await createBareRepo(join(scratch.path, 'srv'), `${name}.git`);
  url = `${server.url}/${name}.git`;
  stateDir = join(scratch.path, `${name}-state`);
  cacheDir = join(scratch.path, `${name}-cache`, 'repo.git');
  await repo.commit({ files: { 'flotilla.yaml': 'version: 1\n', 'sets/web.yaml': 'closure: v0\n' }, sign: { ssh: alice } });
  await publish();
  await tick();
});

describe('Trust rows of THREATS.md', () => {
  it('unsigned HEAD → UntrustedCommitError(unsigned); a later signed commit is accepted', async () => {
    const bad = await repo.commit({ files: { 'sets/web.yaml': 'closure: evil\n' } });
    await publish();
    expect(await refused('UntrustedCommitError')).toMatchObject({ oid: bad, reason: 'unsigned' });
    const next = await good();
    await publish();
    expect(await tick()).toMatchObject({ head: next, signer: alice.principal, format: 'ssh' });
  });

  it('unknown SSH key → unknown-key; wrong OpenPGP key → unknown-key; a pinned OpenPGP key is accepted', async () => {
    await repo.commit({ files: { 'sets/web.yaml': 'closure: m\n' }, sign: { ssh: mallory } });
    await publish();
    expect(await refused('UntrustedCommitError')).toMatchObject({ reason: 'unknown-key' });
    await repo.commit({ files: { 'sets/web.yaml': 'closure: e\n' }, sign: { gpg: eve } });
    await publish();
    expect(await refused('UntrustedCommitError')).toMatchObject({ reason: 'unknown-key', format: 'openpgp' });
    const ok = await repo.commit({ files: { 'sets/web.yaml': 'closure: c\n' }, sign: { gpg: carol } });
    await publish();
    expect(await tick()).toMatchObject({ head: ok, format: 'openpgp', signer: `carol <${carol.email}>` });
  });

  it('tampered message or tree line with the old signature → bad-signature', async () => {
    const signed = await good();
    const raw = await repo.catCommit(signed);
    const applied = await repo.rev('HEAD~1');
    const message = await repo.writeRawObject('commit', raw.replace(/\n\n[\s\S]*$/, '\n\ndeploy everything\n'));
    await repo.setBranch('main', message);
    await publish();
    expect(await refused('UntrustedCommitError')).toMatchObject({ oid: message, reason: 'bad-signature' });
    const otherTree = (await repo.git(['rev-parse', `${applied}^{tree}`])).trim();
    const tree = await repo.writeRawObject('commit', raw.replace(/^tree [0-9a-f]{40}$/m, `tree ${otherTree}`));
    await repo.setBranch('main', tree);
    await publish();
    expect(await refused('UntrustedCommitError')).toMatchObject({ oid: tree, reason: 'bad-signature' });
    await repo.setBranch('main', signed);
    await publish();
    expect((await tick()).head).toBe(signed);
  });

  it('SSH signature for another namespace → wrong-namespace', async () => {
    const unsigned = await repo.commit({ files: { 'sets/web.yaml': 'closure: ns\n' } });
    const payload = await repo.catCommit(unsigned);
    const oid = await repo.writeSignedCommit(payload, await sshSignData(alice, payload, 'file'));
    await repo.setBranch('main', oid);
    await publish();
    expect(await refused('UntrustedCommitError')).toMatchObject({ oid, reason: 'wrong-namespace' });
  });

  it('force-push to an older signed commit → RollbackError; a fast-forward is accepted', async () => {
    const first = await repo.rev();
    const second = await good();
    await publish();
    await tick();
    await repo.setBranch('main', first);
    await publish();
    expect(await refused('RollbackError')).toMatchObject({ head: first, lastApplied: second, reason: 'behind-last-applied' });
    await resetTo(second);
    const third = await good();
    await publish();
    expect((await tick()).head).toBe(third);
  });

  it('force-push to a signed sibling with a newer date → RollbackError', async () => {
    const base = await repo.rev();
    const applied = await good();
    await publish();
    await tick();
    await resetTo(base);
    const sibling = await repo.commit({ files: { 'sets/web.yaml': 'closure: sibling\n' }, sign: { ssh: alice }, date: 2_000_000_000 });
    await publish();
    expect(await refused('RollbackError')).toMatchObject({ head: sibling, lastApplied: applied });
  });

  it('a new commit that sets an old closure again is fine: history moves forward', async () => {
    await repo.commit({ files: { 'sets/web.yaml': 'closure: v0\n' }, sign: { ssh: alice } });
    await publish();
    expect(Buffer.from((await tick()).files.get('sets/web.yaml')!).toString()).toBe('closure: v0\n');
  });

  it('signer rotation: by an untrusted commit → refused; the repo cannot add a key the agent did not pin', async () => {
    const applied = await repo.rev();
    // An unsigned commit adds mallory to the repo's list; alice signs on top.
    await repo.commit({ files: { allowed_signers: `${allowedSignersLine(alice)}\n${allowedSignersLine(mallory)}\n` } });
    await good();
    await publish();
    expect(await refused('UntrustedCommitError')).toMatchObject({ rule: 'signers-change', reason: 'unsigned' });
    // Even a trusted commit adding mallory does not make mallory trusted: the pinned config is the root.
    await resetTo(applied);
    await repo.commit({ files: { allowed_signers: `${allowedSignersLine(alice)}\n${allowedSignersLine(mallory)}\n` }, sign: { ssh: alice } });
    await publish();
    await tick();
    await good(mallory);
    await publish();
    expect(await refused('UntrustedCommitError')).toMatchObject({ reason: 'unknown-key' });
  });

  it('signer rotation by a trusted key: alice hands over to bob (ECDSA), then alice is no longer trusted', async () => {
    await repo.commit({ files: { allowed_signers: `${allowedSignersLine(alice)}\n` }, sign: { ssh: alice } });
    await publish();
    await tick();
    // bob is pinned but not in the repo's list yet: refused.
    await good(bob);
    await publish();
    expect(await refused('UntrustedCommitError')).toMatchObject({ reason: 'unknown-key' });
    await resetTo((await readHighWaterMark(highWaterMarkFile(stateDir)))!.commit);
    await repo.commit({ files: { allowed_signers: `${allowedSignersLine(bob)}\n` }, sign: { ssh: alice } });
    const byBob = await good(bob);
    await publish();
    expect(await tick()).toMatchObject({ head: byBob, signer: bob.principal });
    await good(alice);
    await publish();
    expect(await refused('UntrustedCommitError')).toMatchObject({ reason: 'unknown-key' });
  });

  it('state dir wiped: HEAD below the pinned minimumCommit → RollbackError(below-floor); above it is accepted', async () => {
    const old = await repo.rev();
    const floor = await good();
    await publish();
    await tick();
    await rm(highWaterMarkFile(stateDir));
    await repo.setBranch('main', old);
    await publish();
    expect(await refused('RollbackError', trust, floor)).toMatchObject({ reason: 'below-floor', minimumCommit: floor });
    expect(await readHighWaterMark(highWaterMarkFile(stateDir))).toBeNull();
    await resetTo(floor);
    const next = await good();
    await publish();
    expect((await tick(trust, floor)).head).toBe(next);
  });

  it('a corrupt high-water mark is a StateError, not "no state"', async () => {
    await writeFile(highWaterMarkFile(stateDir), '{"commit": "nope"');
    expect(hasCode(await tick().catch((e: unknown) => e), 'StateError')).toBe(true);
  });

  it('symlinked declaration (signed) → UnsafeTreeError; nothing applied', async () => {
    await rm(join(repo.dir, 'sets/web.yaml'));
    await symlink('../../../../etc/passwd', join(repo.dir, 'sets/web.yaml'));
    await repo.commit({ sign: { ssh: alice } });
    await publish();
    expect(await refused('UnsafeTreeError')).toMatchObject({ path: 'sets/web.yaml', reason: 'symlink' });
  });

  it('submodule (signed) → UnsafeTreeError', async () => {
    await repo.git(['update-index', '--add', '--cacheinfo', `160000,${await repo.rev()},vendor/lib`]);
    await repo.git(['-c', 'gpg.format=ssh', '-c', `user.signingkey=${alice.privateKeyPath}`, 'commit', '-q', '-S', '-m', 'add submodule']);
    await publish();
    expect(await refused('UnsafeTreeError')).toMatchObject({ reason: 'submodule' });
  });

  it.each(['..', '.git', '.GIT'])('tree entry %j in a signed commit → UnsafeTreeError; a later clean commit is accepted', async (name) => {
    const applied = await repo.rev();
    const blob = await repo.writeRawObject('blob', 'closure: evil\n');
    const sets = await repo.writeRawTree([{ mode: '100644', name: 'web.yaml', oid: blob }]);
    const flotilla = (await repo.git(['rev-parse', `${applied}:flotilla.yaml`])).trim();
    const tree = await repo.writeRawTree([
      { mode: '40000', name, oid: sets },
      { mode: '100644', name: 'flotilla.yaml', oid: flotilla },
    ].sort((a, b) => (a.name < b.name ? -1 : 1)));
    await signedRawCommit(tree, alice);
    await publish();
    expect(await refused('UnsafeTreeError')).toMatchObject({ reason: 'name' });
    await resetTo(applied);
    const next = await good();
    await publish();
    expect((await tick()).head).toBe(next);
  });

  it('ECDSA-384/521 and RSA signed commits verify end to end', async () => {
    for (const type of ['ecdsa384', 'ecdsa521', 'rsa'] as const) {
      const key = await makeSshKey(scratch.path, `k-${type}-${n}`, type);
      const t: CommitTrust = { ...trust, sshSigners: [...trust.sshSigners, ...parseAllowedSigners(allowedSignersLine(key), 'pinned')] };
      const oid = await good(key);
      await publish();
      expect(await tick(t)).toMatchObject({ head: oid, signer: key.principal });
    }
  });

  it("verify: all → an unsigned commit in the middle is refused even under a signed HEAD", async () => {
    const all: CommitTrust = { ...trust, verify: 'all' };
    const middle = await repo.commit({ files: { 'sets/web.yaml': 'closure: sneaky\n' } });
    await good();
    await publish();
    expect(await refused('UntrustedCommitError', all)).toMatchObject({ oid: middle, reason: 'unsigned' });
    // verify: head accepts the same history (the team chose to sign only heads).
    const verdict = await tick(trust);
    expect(verdict.commits).toHaveLength(2);
  });
});
