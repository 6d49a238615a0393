import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitError } from '../../src/errors/index.js';
import { findPackedRef, readLocalHead } from '../../src/git/local-head.js';
import { createBareRepo, createTestRepo, runTool, type TestRepo } from '../helpers/git-repo.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('readLocalHead (real git repositories)', () => {
  let root: string;
  let work: TestRepo;
  let bare: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'flotilla-local-head-'));
    work = await createTestRepo(root, 'work');
    await work.commit({ message: 'one' });
    bare = await createBareRepo(root);
    await work.pushTo(bare, 'main');
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  const revParse = async (gitdir: string, ref: string): Promise<string> => (await runTool('git', ['--git-dir', gitdir, 'rev-parse', ref])).trim();

  it('reads a loose ref in a bare repo and in a work tree', async () => {
    expect(await readLocalHead(bare, 'main')).toBe(await revParse(bare, 'refs/heads/main'));
    expect(await readLocalHead(join(root, 'work'), 'main')).toBe(await revParse(join(root, 'work', '.git'), 'refs/heads/main'));
  });

  it('falls back to packed-refs once git packs the refs, and follows a new commit', async () => {
    await work.commit({ message: 'two' });
    await work.pushTo(bare, 'main');
    await work.pushTo(bare, 'release/1.x', 'main');
    await runTool('git', ['--git-dir', bare, 'pack-refs', '--all', '--prune']);
    expect(await readLocalHead(bare, 'main')).toBe(await revParse(bare, 'refs/heads/main'));
    expect(await readLocalHead(bare, 'release/1.x')).toBe(await revParse(bare, 'refs/heads/release/1.x'));
    // A later push writes a loose ref that wins over the stale packed entry.
    await work.commit({ message: 'three' });
    await work.pushTo(bare, 'main');
    expect(await readLocalHead(bare, 'main')).toBe(await revParse(bare, 'refs/heads/main'));
  });

  it('gives null for a branch that does not exist', async () => {
    expect(await readLocalHead(bare, 'nope')).toBeNull();
  });

  it('refuses a path that is not a repo, a symbolic ref, and names that leave refs/heads', async () => {
    await expect(readLocalHead(join(root, 'missing'), 'main')).rejects.toThrow(GitError);
    await runTool('git', ['--git-dir', bare, 'symbolic-ref', 'refs/heads/alias', 'refs/heads/main']);
    await expect(readLocalHead(bare, 'alias')).rejects.toThrow(/not a plain object id/);
    for (const name of ['../../HEAD', 'a/../b', '.hidden', 'x.lock', 'a//b']) await expect(readLocalHead(bare, name)).rejects.toThrow(/not a valid ref name/);
  });

  it('refuses a corrupt loose ref', async () => {
    const dir = join(root, 'corrupt.git');
    await mkdir(join(dir, 'objects'), { recursive: true });
    await mkdir(join(dir, 'refs', 'heads'), { recursive: true });
    await writeFile(join(dir, 'HEAD'), 'ref: refs/heads/main\n');
    await writeFile(join(dir, 'refs', 'heads', 'main'), 'not an oid\n');
    await expect(readLocalHead(dir, 'main')).rejects.toThrow(GitError);
  });
});

describe('findPackedRef', () => {
  const text = `# pack-refs with: peeled fully-peeled sorted \n${A} refs/heads/main\n${B} refs/tags/v1\n^${A}\n`;
  it('finds a ref and skips the header and peel lines', () => {
    expect(findPackedRef(text, 'refs/heads/main')).toBe(A);
    expect(findPackedRef(text, 'refs/tags/v1')).toBe(B);
    expect(findPackedRef(text, 'refs/heads/other')).toBeUndefined();
  });
  it('refuses malformed lines', () => {
    expect(() => findPackedRef(`${A}refs/heads/main\n`, 'refs/heads/main')).toThrow(GitError);
    expect(() => findPackedRef(`^nothex\n`, 'refs/heads/main')).toThrow(GitError);
    expect(() => findPackedRef(`${A.slice(2)} refs/heads/main\n`, 'refs/heads/main')).toThrow(GitError);
  });
});
