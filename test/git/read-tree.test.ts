import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTreeFiles } from '../../src/git/read-tree.js';
import { hasCode } from '../../src/errors/index.js';
import { createTestRepo, makeScratch, type Scratch, type TestRepo } from '../helpers/git-repo.js';

let scratch: Scratch;
let repo: TestRepo;
let good: string;
let blob: string;

const isDecl = (p: string): boolean => p === 'flotilla.yaml' || /^sets\/[^/]+\.yaml$/.test(p);

/** Wraps a hand-built root tree into a commit so the reader is given a commit oid, as in production. */
async function commitTree(tree: string): Promise<string> {
  return repo.writeRawObject('commit', `tree ${tree}\nauthor A <a@x> 1700000000 +0000\ncommitter A <a@x> 1700000000 +0000\n\nraw\n`);
}

async function expectUnsafe(oid: string, reason: string, path?: string): Promise<void> {
  const err = await readTreeFiles({ gitdir: repo.gitdir, oid, include: isDecl }).catch((e: unknown) => e);
  expect(hasCode(err, 'UnsafeTreeError'), String(err)).toBe(true);
  expect((err as { data: { reason: string } }).data.reason).toBe(reason);
  if (path !== undefined) expect((err as { data: { path: string } }).data.path).toBe(path);
}

beforeAll(async () => {
  scratch = await makeScratch('read-tree');
  repo = await createTestRepo(scratch.path);
  good = await repo.commit({ files: { 'flotilla.yaml': 'version: 1\n', 'sets/web.yaml': 'closure: x\n', 'README.md': 'hi\n' } });
  blob = (await repo.git(['rev-parse', `${good}:sets/web.yaml`])).trim();
});
afterAll(async () => scratch.cleanup());

describe('readTreeFiles', () => {
  it('returns exactly the included files with their bytes', async () => {
    const files = await readTreeFiles({ gitdir: repo.gitdir, oid: good, include: isDecl });
    expect([...files.keys()].sort()).toEqual(['flotilla.yaml', 'sets/web.yaml']);
    expect(Buffer.from(files.get('sets/web.yaml')!).toString()).toBe('closure: x\n');
  });

  it('refuses a symlinked declaration but ignores a symlink that is not a declaration', async () => {
    const ln = await repo.writeRawObject('blob', '/etc/passwd');
    const sets = await repo.writeRawTree([{ mode: '120000', name: 'web.yaml', oid: ln }]);
    await expectUnsafe(await commitTree(await repo.writeRawTree([{ mode: '40000', name: 'sets', oid: sets }])), 'symlink', 'sets/web.yaml');
    const other = await commitTree(await repo.writeRawTree([{ mode: '120000', name: 'docs-link', oid: ln }, { mode: '40000', name: 'sets', oid: await repo.writeRawTree([{ mode: '100644', name: 'web.yaml', oid: blob }]) }]));
    expect([...(await readTreeFiles({ gitdir: repo.gitdir, oid: other, include: isDecl })).keys()]).toEqual(['sets/web.yaml']);
  });

  it('refuses a submodule anywhere', async () => {
    await expectUnsafe(await commitTree(await repo.writeRawTree([{ mode: '160000', name: 'vendor', oid: good }])), 'submodule', 'vendor');
  });

  it.each(['..', '.', '.git', '.GIT', '.Git', '.git.', 'GIT~1', 'a\\b', '.g\u200cit'])('refuses an entry named %j', async (name) => {
    const sub = await repo.writeRawTree([{ mode: '100644', name: 'web.yaml', oid: blob }]);
    await expectUnsafe(await commitTree(await repo.writeRawTree([{ mode: '40000', name, oid: sub }])), 'name');
  });

  it('refuses a name with a slash, a duplicate name and an unknown mode', async () => {
    await expectUnsafe(await commitTree(await repo.writeRawTree([{ mode: '100644', name: 'sets/web.yaml', oid: blob }])), 'name');
    await expectUnsafe(await commitTree(await repo.writeRawTree([{ mode: '100644', name: 'a', oid: blob }, { mode: '100644', name: 'a', oid: blob }])), 'duplicate');
    const err = await readTreeFiles({ gitdir: repo.gitdir, oid: await commitTree(await repo.writeRawTree([{ mode: '100600', name: 'a', oid: blob }])) }).catch((e: unknown) => e);
    expect(hasCode(err, 'UnsafeTreeError')).toBe(true);
  });

  it('enforces file and byte limits', async () => {
    const many = await readTreeFiles({ gitdir: repo.gitdir, oid: good, limits: { maxFiles: 2 } }).catch((e: unknown) => e);
    expect(hasCode(many, 'SizeLimitError')).toBe(true);
    const big = await readTreeFiles({ gitdir: repo.gitdir, oid: good, limits: { maxBytes: 5 } }).catch((e: unknown) => e);
    expect(hasCode(big, 'SizeLimitError')).toBe(true);
  });

  it('names a missing object', async () => {
    const err = await readTreeFiles({ gitdir: repo.gitdir, oid: 'a'.repeat(40) }).catch((e: unknown) => e);
    expect(hasCode(err, 'NotFoundError')).toBe(true);
  });
});
