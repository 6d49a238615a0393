import { execFileSync } from 'node:child_process';
import { chmod, link, mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildManifest } from '../../src/packages/build-manifest.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import { listAll } from '../../src/store/store.js';
import { openStore } from '../../src/store/open-store.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function tree(setup: (dir: string) => Promise<void>): Promise<{ dir: string; root: string }> {
  const t = await makeTempDir();
  cleanups.push(t.cleanup);
  const dir = join(t.dir, 'pkg');
  await mkdir(dir);
  await writeFile(join(dir, 'ok.txt'), 'fine');
  await setup(dir);
  return { dir, root: t.dir };
}

const ROWS: Array<{ name: string; setup: (dir: string) => Promise<void>; mention: string }> = [
  { name: 'FIFO', setup: (d) => (execFileSync('mkfifo', [join(d, 'pipe')]), Promise.resolve()), mention: 'FIFO' },
  { name: 'character device', setup: (d) => (execFileSync('mknod', [join(d, 'null'), 'c', '1', '3']), Promise.resolve()), mention: 'device' },
  {
    name: 'socket',
    setup: async (d) => {
      const srv = createServer();
      await new Promise<void>((r) => srv.listen(join(d, 'sock'), r));
      cleanups.push(() => (srv.close(), Promise.resolve()));
    },
    mention: 'socket',
  },
  { name: 'hardlink', setup: async (d) => link(join(d, 'ok.txt'), join(d, 'twin.txt')), mention: 'hardlink' },
  {
    name: 'setuid file',
    setup: async (d) => {
      await writeFile(join(d, 'su'), 'x');
      await chmod(join(d, 'su'), 0o4755);
    },
    mention: 'setuid',
  },
  { name: 'absolute symlink', setup: async (d) => symlink('/etc/passwd', join(d, 'abs')), mention: 'absolute' },
  { name: 'escaping symlink', setup: async (d) => symlink('../outside', join(d, 'esc')), mention: 'outside' },
  {
    name: 'escaping symlink chain',
    setup: async (d) => {
      await mkdir(join(d, 'a'));
      await symlink('..', join(d, 'a', 'up'));
      await symlink('a/up/..', join(d, 'esc'));
    },
    mention: 'outside',
  },
  { name: 'backslash in a name', setup: async (d) => writeFile(join(d, 'a\\b'), 'x'), mention: 'backslash' },
  { name: 'NFD name', setup: async (d) => writeFile(join(d, 'cafe\u0301'), 'x'), mention: 'NFC' },
  {
    name: 'case collision',
    setup: async (d) => {
      await writeFile(join(d, 'Readme'), 'x');
      await writeFile(join(d, 'README'), 'y');
    },
    mention: 'collide',
  },
  { name: '65-deep tree', setup: async (d) => void (await mkdir(join(d, ...Array.from({ length: 65 }, () => 'd')), { recursive: true })), mention: 'deeper' },
];

describe('push refuses unsafe trees and uploads nothing', () => {
  it.each(ROWS)('$name → UnsafePathError', async ({ setup, mention }) => {
    const { dir, root } = await tree(setup);
    const store = openStore(join(root, 'store'));
    await expect(pushDirectory(store, dir, { name: 'x' })).rejects.toMatchObject({ code: 'UnsafePathError', message: expect.stringContaining(mention) as string });
    const keys: string[] = [];
    for await (const o of listAll(store, '')) keys.push(o.key);
    expect(keys).toEqual([]);
  });

  it('normalises modes: any x bit → executable, others not; setgid directories are fine', async () => {
    const { dir } = await tree(async (d) => {
      await writeFile(join(d, 'run'), '#!/bin/sh\n', { mode: 0o700 });
      await writeFile(join(d, 'grp'), 'x', { mode: 0o610 });
      await mkdir(join(d, 'shared'));
      await chmod(join(d, 'shared'), 0o2775);
    });
    const built = await buildManifest(dir, { name: 'x' });
    const byPath = new Map(built.manifest.entries.map((e) => [e.path, e]));
    expect(byPath.get('run')).toMatchObject({ type: 'file', executable: true });
    expect(byPath.get('grp')).toMatchObject({ type: 'file', executable: true });
    expect(byPath.get('ok.txt')).toMatchObject({ type: 'file', executable: false });
    expect(byPath.get('shared')).toEqual({ type: 'dir', path: 'shared' });
  });
});
