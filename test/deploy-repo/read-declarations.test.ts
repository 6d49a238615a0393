import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDeclarationFiles, readDeclarationsAt, requireDeclarations, type DeclarationsRead } from '../../src/deploy-repo/index.js';
import { hasCode } from '../../src/errors/index.js';
import { CONFIG, DIGEST_A, setYaml } from '../declarations/fixtures.js';
import { createTestRepo, makeScratch, type Scratch, type TestRepo } from '../helpers/git-repo.js';

let scratch: Scratch;
let repo: TestRepo;
const at: Record<string, string> = {};

function thrown(fn: () => unknown): { code: string; message: string; data: Record<string, unknown> } {
  try {
    fn();
  } catch (err) {
    return err as { code: string; message: string; data: Record<string, unknown> };
  }
  throw new Error('did not throw');
}

beforeAll(async () => {
  scratch = await makeScratch('read-decls');
  repo = await createTestRepo(scratch.path);
  at['good'] = await repo.commit({ files: { 'flotilla.yaml': CONFIG, 'sets/db.yaml': setYaml(), 'sets/web.yaml': setYaml('rollout:\n  dependsOn: [db]\n'), 'README.md': 'hi\n' } });
  at['badYaml'] = await repo.commit({ files: { 'sets/web.yaml': 'closure: [unclosed\nmachines: a\n' } });
  at['missingSet'] = await repo.commit({ files: { 'sets/web.yaml': setYaml('rollout:\n  dependsOn: [db]\n'), 'sets/db.yaml': null } });
  at['noConfig'] = await repo.commit({ files: { 'flotilla.yaml': null, 'sets/db.yaml': setYaml() } });
  await repo.writeFiles({ 'flotilla.yaml': CONFIG, 'sets/db.yaml': null });
  await symlink('web.yaml', join(repo.dir, 'sets', 'db.yaml'));
  at['symlink'] = await repo.commit();
});
afterAll(async () => scratch.cleanup());

describe('readDeclarationsAt: a commit\'s declarations as data', () => {
  it('a valid commit: the declaration files (nothing else) and the loaded sets, no issues', async () => {
    const r = await readDeclarationsAt(repo.gitdir, at['good']!);
    expect(r.oid).toBe(at['good']);
    expect([...r.files.keys()].sort()).toEqual(['flotilla.yaml', 'sets/db.yaml', 'sets/web.yaml']);
    expect(r.issues).toEqual([]);
    expect([...r.decls!.sets.keys()]).toEqual(['db', 'web']);
    expect(r.decls!.sets.get('web')!.closure).toBe(DIGEST_A);
    expect(requireDeclarations(r, { what: 'x' })).toBe(r.decls);
  });

  it.each([
    ['badYaml', { file: 'sets/web.yaml', line: 2, col: 1 }, /YAML BAD_INDENT/],
    ['missingSet', { file: 'sets/web.yaml', pointer: '/rollout/dependsOn/0', rule: 'dependsOn-unknown' }, /unknown set "db"/],
    ['noConfig', { file: 'flotilla.yaml', rule: 'config-required' }, /flotilla\.yaml is missing/],
  ] as const)('%s: null declarations and the issue with its place, never a throw', async (name, issue, message) => {
    const r = await readDeclarationsAt(repo.gitdir, at[name]!);
    expect(r.decls).toBeNull();
    expect(r.refused).toBeUndefined();
    expect(r.issues).toContainEqual(expect.objectContaining(issue));
    if (message) expect(r.issues.map((i) => i.message).join('\n')).toMatch(message);
    expect(r.files.size).toBeGreaterThan(0);
  });

  it('a symlinked declaration: the tree is refused unread, as one unsafe-tree issue carrying the UnsafeTreeError', async () => {
    const r = await readDeclarationsAt(repo.gitdir, at['symlink']!);
    expect(r.decls).toBeNull();
    expect(r.files.size).toBe(0);
    expect(r.issues).toEqual([expect.objectContaining({ file: 'sets/db.yaml', rule: 'unsafe-tree' })]);
    expect(r.refused?.code).toBe('UnsafeTreeError');
    // Callers that cannot go on get the reader's own error, not a DeclarationError.
    expect(thrown(() => requireDeclarations(r, { what: 'x' }))).toBe(r.refused);
  });

  it('an unknown commit is a repo read failure, thrown', async () => {
    const err = await readDeclarationsAt(repo.gitdir, '0'.repeat(40)).catch((e: unknown) => e);
    expect(hasCode(err, 'NotFoundError')).toBe(true);
  });
});

describe('requireDeclarations', () => {
  it('throws DeclarationError listing every issue as file:line:col, with the commit', async () => {
    const r = await readDeclarationsAt(repo.gitdir, at['badYaml']!);
    const err = thrown(() => requireDeclarations(r, { what: 'the declarations at abc are' }));
    expect(err.code).toBe('DeclarationError');
    expect(err.message).toMatch(/^the declarations at abc are invalid:\nsets\/web\.yaml:2:1 YAML /);
    expect(err.data['commit']).toBe(at['badYaml']);
    expect(err.data['issues']).toEqual(r.issues.map((): unknown => expect.stringMatching(/^sets\/web\.yaml:\d+:\d+ /)));
  });

  it('oneLine: a count and the first five issues on one line (status conditions)', () => {
    const issues = Array.from({ length: 7 }, (_, i) => ({ file: `sets/s${i}.yaml`, line: 1, col: 1, pointer: '', message: `bad ${i}` }));
    const read: DeclarationsRead = { files: new Map(), decls: null, issues };
    const err = thrown(() => requireDeclarations(read, { what: 'deploy repo at abc', oneLine: true }));
    expect(err.message).toBe('deploy repo at abc has 7 invalid declaration(s): sets/s0.yaml:1:1 bad 0; sets/s1.yaml:1:1 bad 1; sets/s2.yaml:1:1 bad 2; sets/s3.yaml:1:1 bad 3; sets/s4.yaml:1:1 bad 4');
    expect(err.message).not.toContain('\n');
    expect(err.data['commit']).toBeUndefined();
  });

  it('loadDeclarationFiles: edited files in hand load the same way', () => {
    const files = new Map([['flotilla.yaml', Buffer.from(CONFIG)], ['sets/web.yaml', Buffer.from('closure: nope\n')]]);
    const r = loadDeclarationFiles(files);
    expect(r.decls).toBeNull();
    expect(thrown(() => requireDeclarations(r, { what: 'after the edit, the declarations are' })).message).toMatch(/^after the edit, the declarations are invalid:\nsets\/web\.yaml:1:/);
  });
});
