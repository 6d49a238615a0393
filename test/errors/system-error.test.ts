// Real fs failures (not hand-made errors) turned into typed errors naming the path.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromStateDirError, fromSystemError } from '../../src/errors/system-error.js';
import { FlotillaError } from '../../src/errors/index.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);

describe('fromSystemError and fromStateDirError', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    t = await makeTempDir();
    await mkdir(join(t.dir, 'state', 'sub'), { recursive: true });
    await writeFile(join(t.dir, 'file'), 'x');
  });
  afterAll(async () => t.cleanup());

  const table: Array<[string, () => Promise<unknown>, string, string]> = [
    ['a missing directory', () => readdir(join(t.dir, 'nope')), 'ENOENT', 'nope'],
    ['a file where a directory is expected', () => readdir(join(t.dir, 'file')), 'ENOTDIR', 'file'],
    ['a directory where a file is expected', () => writeFile(join(t.dir, 'state'), 'x'), 'EISDIR', 'state'],
    // Root ignores file modes; sysctl files check their own mode even for root, so this EACCES is real.
    ['a file root may not read (/proc/sys, mode 0200)', () => readFile('/proc/sys/vm/drop_caches'), 'EACCES', 'drop_caches'],
  ];
  for (const [name, act, errno, tail] of table) {
    it(`${name} → PathError naming the path (${errno})`, async () => {
      const err = fromSystemError(await failure(act()));
      expect(err).toBeInstanceOf(FlotillaError);
      expect((err as FlotillaError).toJSON()).toMatchObject({ code: 'PathError', retry: 'stall', data: { errno } });
      expect(String((err as FlotillaError).data['path'])).toMatch(new RegExp(`${tail}$`));
    });
  }

  it('leaves other errors alone', () => {
    const plain = new Error('x');
    expect(fromSystemError(plain)).toBe(plain);
    const reset = Object.assign(new Error('r'), { code: 'ECONNRESET', syscall: 'read' });
    expect(fromSystemError(reset)).toBe(reset);
  });

  it('a write refused inside the state dir is a StateError naming the dir; elsewhere a PathError', () => {
    const state = join(t.dir, 'state');
    const denied = (path: string): Error => Object.assign(new Error('EPERM'), { code: 'EPERM', syscall: 'mkdir', path });
    expect((fromStateDirError(denied(join(state, 'sub', 'x')), state) as FlotillaError).toJSON()).toMatchObject({ code: 'StateError', data: { stateDir: state, errno: 'EPERM' } });
    expect((fromStateDirError(denied(join(t.dir, 'statex')), state) as FlotillaError).code).toBe('PathError');
    const missing = Object.assign(new Error('ENOENT'), { code: 'ENOENT', syscall: 'open', path: join(state, 'x') });
    expect((fromStateDirError(missing, state) as FlotillaError).code).toBe('PathError');
  });
});
