import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Generation } from '../../src/generations/index.js';
import { StagedMemo } from '../../src/reconcile/staged-memo.js';
import { digestFromHex } from '../../src/store/digest.js';

const A = digestFromHex('a'.repeat(64));
const B = digestFromHex('b'.repeat(64));

describe('StagedMemo', () => {
  let root: string;
  let gen: Generation;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'flotilla-memo-'));
    const path = join(root, '1-aaaaaaaa');
    await mkdir(path);
    gen = { number: 1, dirName: '1-aaaaaaaa', path, digest: A, origin: { version: 1, set: 'web', number: 1, digest: A, time: '2026-01-01T00:00:00.000Z', packages: [] } };
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  it('recalls a staged generation for the same set, digest and commit within its age', async () => {
    const memo = new StagedMemo(30_000);
    memo.remember('web', A, 'c1', gen, 1_000);
    expect(await memo.recall('web', A, 'c1', 30_999)).toBe(gen);
  });

  it('forgets it for another digest, another commit, another set, or once too old', async () => {
    const memo = new StagedMemo(30_000);
    memo.remember('web', A, 'c1', gen, 1_000);
    expect(await memo.recall('web', B, 'c1', 2_000)).toBeUndefined();
    expect(await memo.recall('web', A, 'c2', 2_000)).toBeUndefined();
    expect(await memo.recall('db', A, 'c1', 2_000)).toBeUndefined();
    expect(await memo.recall('web', A, 'c1', 31_000)).toBeUndefined();
  });

  it('does not vouch for a generation whose directory is gone', async () => {
    const memo = new StagedMemo(30_000);
    memo.remember('web', A, 'c1', gen, 1_000);
    await rm(gen.path, { recursive: true });
    expect(await memo.recall('web', A, 'c1', 2_000)).toBeUndefined();
    await mkdir(gen.path);
    expect(await memo.recall('web', A, 'c1', 2_000)).toBeUndefined();
  });

  it('forget drops the entry', async () => {
    const memo = new StagedMemo(30_000);
    memo.remember('web', A, 'c1', gen, 1_000);
    memo.forget('web');
    expect(await memo.recall('web', A, 'c1', 2_000)).toBeUndefined();
  });
});
