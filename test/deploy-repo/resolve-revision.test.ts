import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRevision } from '../../src/deploy-repo/index.js';
import { createTestRepo, makeScratch, runTool, type Scratch, type TestRepo } from '../helpers/git-repo.js';

// git itself is the oracle: every revision git resolves must resolve to the same commit here.

let scratch: Scratch;
let repo: TestRepo;
const c: Record<string, string> = {};

async function failure(rev: string, gitdir = repo.gitdir): Promise<{ code: string; message: string; data: Record<string, unknown> }> {
  const err = await resolveRevision(gitdir, rev).then(() => undefined, (e: unknown) => e);
  expect(err, `${rev} resolved`).toBeDefined();
  return err as { code: string; message: string; data: Record<string, unknown> };
}

beforeAll(async () => {
  scratch = await makeScratch('resolve-rev');
  repo = await createTestRepo(scratch.path);
  c['c1'] = await repo.commit({ files: { 'flotilla.yaml': 'stores: []\n' }, message: 'c1' });
  c['c2'] = await repo.commit({ files: { 'a.txt': 'a\n' }, message: 'c2' });
  await repo.git(['checkout', '-q', '-b', 'feature']);
  c['f1'] = await repo.commit({ files: { 'f.txt': '1\n' }, message: 'f1' });
  c['f2'] = await repo.commit({ files: { 'f.txt': '2\n' }, message: 'f2' });
  await repo.git(['checkout', '-q', 'main']);
  c['c3'] = await repo.commit({ files: { 'b.txt': 'b\n' }, message: 'c3' });
  await repo.git(['-c', 'commit.gpgsign=false', 'merge', '-q', '--no-ff', '-m', 'merge feature', 'feature'], { env: { GIT_AUTHOR_DATE: '1800000000 +0000', GIT_COMMITTER_DATE: '1800000000 +0000' } });
  c['m'] = await repo.rev('HEAD');
  c['c4'] = await repo.commit({ files: { 'c.txt': 'c\n' }, message: 'c4' });
  await repo.git(['-c', 'tag.gpgSign=false', 'tag', '-a', '-m', 'release 1', 'v1', c['c2']]);
  await repo.git(['-c', 'tag.gpgSign=false', 'tag', '-a', '-m', 'tag of a tag', 'v1-again', 'v1']);
  await repo.git(['tag', 'light', c['c3']]);
  const tree = (await repo.git(['rev-parse', `${c['c1']}^{tree}`])).trim();
  await repo.git(['-c', 'tag.gpgSign=false', 'tag', '-a', '-m', 'a tree', 'treetag', tree]);
  await repo.git(['update-ref', 'refs/remotes/origin/x', c['f2']]);
  // A branch spelled like the short id of another commit: git takes the ref.
  await repo.git(['branch', c['c1'].slice(0, 7), c['c4']]);
});
afterAll(async () => scratch.cleanup());

describe('resolveRevision agrees with git rev-parse', () => {
  const revs = [
    'HEAD', '@', 'main', 'refs/heads/main', 'HEAD~1', 'HEAD~', 'main^', 'main^0', 'main~2', 'HEAD~1^2', 'HEAD~1^1',
    'main~1^2~1', 'HEAD^^', 'HEAD~~', 'HEAD^^2^', 'feature', 'feature~1', 'v1', 'v1~1', 'v1-again', 'refs/tags/v1', 'light',
    'light^', 'origin/x', 'origin/x~1', 'refs/remotes/origin/x',
  ];
  it.each(revs)('%s', async (rev) => {
    expect(await resolveRevision(repo.gitdir, rev)).toBe(await repo.rev(rev));
  });

  it.each([['full id', 40], ['short id', 7], ['4 hex digits', 4], ['upper-case short id', 10]] as const)('%s of a commit, with and without steps', async (what, len) => {
    for (const name of ['c2', 'f2', 'm']) {
      const id = c[name]!.slice(0, len);
      const spelled = what.startsWith('upper') ? id.toUpperCase() : id;
      expect(await resolveRevision(repo.gitdir, spelled)).toBe(await repo.rev(spelled));
      expect(await resolveRevision(repo.gitdir, `${spelled}~1`)).toBe(await repo.rev(`${spelled}~1`));
    }
  });

  it('a branch wins over a short id spelled the same, as in git', async () => {
    const name = c['c1']!.slice(0, 7);
    expect(await resolveRevision(repo.gitdir, name)).toBe(c['c4']);
    expect(await repo.rev(name)).toBe(c['c4']);
  });
});

describe('resolveRevision refuses, naming the revision', () => {
  it.each([
    ['nope', 'NotFoundError', /revision nope not found/],
    ['nope~1', 'NotFoundError', /revision nope~1 not found/],
    ['0000000000000000000000000000000000000000', 'NotFoundError', /0000000000000000000000000000000000000000/],
    ['HEAD~99', 'NotFoundError', /revision HEAD~99: commit [0-9a-f]{12} has no parent \(it is the first commit\), so ~99/],
    ['HEAD~1^3', 'NotFoundError', /has 2 parent\(s\), so \^3 names nothing/],
    ['main^2', 'NotFoundError', /has 1 parent\(s\), so \^2 names nothing/],
    ['treetag', 'UsageError', /revision treetag names a tree/],
    ['main..feature', 'UsageError', /ranges/],
  ])('%s → %s', async (rev, code, message) => {
    const err = await failure(rev);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });

  it('a blob id is not a commit', async () => {
    const blob = (await repo.git(['rev-parse', `${c['c1']}:flotilla.yaml`])).trim();
    const err = await failure(blob.slice(0, 12));
    expect(err.code).toBe('UsageError');
    expect(err.message).toMatch(/names a blob/);
  });
});

describe('abbreviated ids in a repo with thousands of objects (packed)', () => {
  let many: TestRepo;
  let objects: Array<{ oid: string; type: string }>;

  beforeAll(async () => {
    many = await createTestRepo(scratch.path, 'many');
    const lines: string[] = [];
    for (let i = 1; i <= 1500; i++) {
      const msg = `commit ${i}\n`;
      const body = `content ${i}\n`;
      lines.push('commit refs/heads/main', `mark :${i}`, 'committer T <t@example.test> 1700000000 +0000', `data ${msg.length}`, msg);
      if (i > 1) lines.push(`from :${i - 1}`);
      lines.push('M 100644 inline f.txt', `data ${body.length}`, body);
    }
    await runTool('git', ['fast-import', '--quiet'], { cwd: many.dir, input: `${lines.join('\n')}\n` });
    const out = await runTool('git', ['cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype)'], { cwd: many.dir });
    objects = out.trim().split('\n').map((l) => {
      const [oid, type] = l.split(' ');
      return { oid: oid!, type: type! };
    });
  });

  function byPrefix(): Map<string, Array<{ oid: string; type: string }>> {
    const groups = new Map<string, Array<{ oid: string; type: string }>>();
    for (const o of objects) groups.set(o.oid.slice(0, 4), [...(groups.get(o.oid.slice(0, 4)) ?? []), o]);
    return groups;
  }

  it('4 hex digits shared by two commits: UsageError listing them, asking for more digits', async () => {
    const [prefix, group] = [...byPrefix()].find(([, g]) => g.filter((o) => o.type === 'commit').length >= 2)!;
    const err = await failure(prefix, many.gitdir);
    expect(err.code).toBe('UsageError');
    expect(err.message).toMatch(new RegExp(`revision ${prefix} is ambiguous: .*give more hex digits`));
    expect(err.data['matches']).toEqual(expect.arrayContaining(group.filter((o) => o.type === 'commit').map((o) => o.oid)));
    await expect(many.rev(prefix)).rejects.toThrow(/ambiguous/);
    // More digits settle it.
    const one = group.find((o) => o.type === 'commit')!.oid;
    expect(await resolveRevision(many.gitdir, one.slice(0, 12))).toBe(one);
  });

  it('4 hex digits shared by one commit and other objects: the commit, as git picks it', async () => {
    const [prefix, group] = [...byPrefix()].find(([, g]) => g.length >= 2 && g.filter((o) => o.type === 'commit').length === 1)!;
    const commit = group.find((o) => o.type === 'commit')!.oid;
    expect(await resolveRevision(many.gitdir, prefix)).toBe(commit);
    expect(await many.rev(prefix)).toBe(commit);
  });

  it('an unknown abbreviated id: NotFoundError naming it', async () => {
    const taken = new Set(objects.map((o) => o.oid.slice(0, 6)));
    let free = 0;
    while (taken.has(free.toString(16).padStart(6, '0'))) free++;
    const short = free.toString(16).padStart(6, '0');
    const err = await failure(short, many.gitdir);
    expect(err.code).toBe('NotFoundError');
    expect(err.message).toContain(`revision ${short} not found`);
  });
});
