import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inlineFsOpRunner, threadFsOpRunner, throwIfFailed, type FsOpRunner } from '../../src/fetch/fs-op-runner.js';
import type { FsOp } from '../../src/fetch/fs-ops.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

const hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe.each([
  { name: 'on the calling thread', make: (): FsOpRunner => inlineFsOpRunner() },
  // A fetch that writes inline runs its spreads synchronously as well (fetch-closure.ts).
  { name: 'on the calling thread, spreads too', make: (): FsOpRunner => inlineFsOpRunner(true) },
  { name: 'on two worker threads', make: (): FsOpRunner => threadFsOpRunner(2) },
  // One thread shares a long spread with libuv's pool (fs-op-runner.ts).
  { name: 'on one worker thread', make: (): FsOpRunner => threadFsOpRunner(1) },
])('filesystem steps $name', ({ make }) => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let ops: FsOpRunner;
  let n = 0;
  const fresh = (): string => join(t.dir, `f${n++}`);
  const body = Buffer.alloc(3 * 1024 * 1024 + 17, 5);
  beforeAll(async () => {
    t = await makeTempDir();
    ops = make();
    body.write('different tail', body.length - 20);
    await writeFile(join(t.dir, 'src'), body);
  });
  afterAll(async () => {
    await ops.close();
    await t.cleanup();
  });

  it('place copies a file of several read chunks and hashes exactly what landed', async () => {
    const dest = fresh();
    const [r] = await ops.run([{ op: 'place', src: join(t.dir, 'src'), dest, limit: body.length }]);
    expect(r).toEqual({ ok: true, bytes: body.length, hex: hex(body) });
    expect((await readFile(dest)).equals(body)).toBe(true);
    await writeFile(join(t.dir, 'empty'), '');
    expect((await ops.run([{ op: 'place', src: join(t.dir, 'empty'), dest: fresh(), limit: 0 }]))[0]).toEqual({ ok: true, bytes: 0, hex: hex(Buffer.alloc(0)) });
  });

  it('place links an inode that is ours and read-only, and copies anything else (writable, another owner)', async () => {
    const me = process.geteuid?.() ?? 0;
    const ro = join(t.dir, 'ro');
    await writeFile(ro, body);
    await chmod(ro, 0o444);
    const rw = join(t.dir, 'rw');
    await writeFile(rw, body);
    await chmod(rw, 0o644);
    const cases = [
      { src: ro, owner: me, linked: true },
      { src: rw, owner: me, linked: false },
      { src: ro, owner: me + 1, linked: false },
    ];
    for (const c of cases) {
      const dest = fresh();
      const [r] = await ops.run([{ op: 'place', src: c.src, dest, limit: body.length, linkOwner: c.owner }]);
      expect(r).toEqual({ ok: true, bytes: body.length, hex: hex(body), ...(c.linked ? { linked: true } : {}) });
      expect((await stat(dest)).ino === (await stat(c.src)).ino).toBe(c.linked);
    }
  });

  it('place refuses before copying: a missing source, a directory, a file over the limit, an existing destination', async () => {
    const over = fresh();
    const results = await Promise.all([
      ops.run([{ op: 'place', src: join(t.dir, 'none'), dest: fresh(), limit: 10 }]),
      ops.run([{ op: 'place', src: t.dir, dest: fresh(), limit: 10 }]),
      ops.run([{ op: 'place', src: join(t.dir, 'src'), dest: over, limit: body.length - 1 }]),
      ops.run([{ op: 'place', src: join(t.dir, 'src'), dest: join(t.dir, 'src'), limit: body.length }]),
    ]);
    expect(results.map((r) => (r[0]?.ok === false ? r[0].code : 'ok'))).toEqual(['ENOENT', 'ENOENT', 'EFBIG', 'EEXIST']);
    await expect(lstat(over)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('stops at the first failure, which is the last result, and throwIfFailed names it', async () => {
    const a = fresh();
    const steps: FsOp[] = [
      { op: 'write', dest: a, data: Buffer.from('x') },
      { op: 'write', dest: a, data: Buffer.from('y') },
      { op: 'write', dest: fresh(), data: Buffer.from('never') },
    ];
    const r = await ops.run(steps);
    expect(r.map((x) => x.ok)).toEqual([true, false]);
    expect(() => throwIfFailed(r)).toThrow(expect.objectContaining({ code: 'EEXIST' }) as Error);
    expect(await readFile(a, 'utf8')).toBe('x');
    expect((await stat(a)).mode & 0o777).toBe(0o600);
  });

  it('commit sets the mode and renames, making the shard directory on first use; link, symlink, mkdir, chmod, copy', async () => {
    const tmp = fresh();
    const root = fresh();
    await mkdir(root);
    const dest = join(root, 'ab', 'object');
    throwIfFailed(await ops.run([{ op: 'write', dest: tmp, data: Buffer.from('obj') }, { op: 'commit', tmp, dest, mode: 0o444 }]));
    expect((await stat(dest)).mode & 0o777).toBe(0o444);
    const pkg = join(root, 'pkg');
    throwIfFailed(await ops.run([
      { op: 'mkdir', path: pkg, mode: 0o755 },
      { op: 'link', from: dest, to: join(pkg, 'file') },
      { op: 'symlink', target: 'file', path: join(pkg, 'alias') },
      { op: 'copy', src: dest, dest: join(pkg, 'twin') },
      { op: 'chmod', path: join(pkg, 'twin'), mode: 0o555 },
      { op: 'chmod', path: pkg, mode: 0o555 },
    ]));
    expect((await stat(join(pkg, 'file'))).ino).toBe((await stat(dest)).ino);
    expect(await readlink(join(pkg, 'alias'))).toBe('file');
    expect((await stat(join(pkg, 'twin'))).ino).not.toBe((await stat(dest)).ino);
    expect((await stat(join(pkg, 'twin'))).mode & 0o777).toBe(0o555);
    expect((await stat(pkg)).mode & 0o777).toBe(0o555);
  });

  it('commit without a mode only renames (a temp made with its final mode); place copies come out 0444 whatever the source mode', async () => {
    const tmp = fresh();
    const dest = fresh();
    throwIfFailed(await ops.run([{ op: 'write', dest: tmp, data: Buffer.from('ro'), mode: 0o444 }, { op: 'commit', tmp, dest }]));
    expect((await stat(dest)).mode & 0o777).toBe(0o444 & ~process.umask());
    expect(await readFile(dest, 'utf8')).toBe('ro');
    const rw = join(t.dir, 'rw-src');
    await writeFile(rw, body, { mode: 0o644 });
    await chmod(rw, 0o644);
    const copy = fresh();
    const [r] = await ops.run([{ op: 'place', src: rw, dest: copy, limit: body.length }]);
    expect(r).toMatchObject({ ok: true, bytes: body.length });
    expect((await stat(copy)).mode & 0o777).toBe(0o444);
  });

  it('runSpread runs every independent step and keeps the input order of results across threads', async () => {
    const steps: FsOp[] = Array.from({ length: 101 }, (_, i) => ({ op: 'write', dest: fresh(), data: Buffer.from(String(i)) }));
    steps[30] = { op: 'write', dest: join(t.dir, 'src'), data: Buffer.from('clash') };
    steps[90] = { op: 'write', dest: join(t.dir, 'src'), data: Buffer.from('clash') };
    const r = await ops.runSpread(steps);
    expect(r).toHaveLength(101);
    expect(r[30]).toMatchObject({ ok: false, code: 'EEXIST' });
    expect(r[90]).toMatchObject({ ok: false, code: 'EEXIST' });
    expect(r.filter((x) => x.ok)).toHaveLength(99);
    for (const [i, st] of steps.entries()) if (i !== 30 && i !== 90) expect(await readFile((st as { dest: string }).dest, 'utf8')).toBe(String(i));
    const kept = await ops.run(steps.slice(0, 2).map((x) => ({ ...x })), true);
    expect(kept.map((x) => x.ok)).toEqual([false, false]); // both exist now; keepGoing reports each
  });

  it('runSpread commits (making shard directories), links, symlinks and chmods like run, each failure reported in place', async () => {
    const root = fresh();
    await mkdir(join(root, 'pkg'), { recursive: true });
    const tmps = [fresh(), fresh()];
    throwIfFailed(await ops.run(tmps.map((tmp, i) => ({ op: 'write', dest: tmp, data: Buffer.from(`o${i}`) }))));
    const dests = [join(root, 'c1', 'a'), join(root, 'c2', 'b')];
    const committed = await ops.runSpread(tmps.map((tmp, i) => ({ op: 'commit', tmp, dest: dests[i] as string, mode: 0o444 })));
    expect(committed.map((x) => x.ok)).toEqual([true, true]);
    for (const d of dests) expect((await stat(d)).mode & 0o777).toBe(0o444);
    const r = await ops.runSpread([
      { op: 'link', from: dests[0] as string, to: join(root, 'pkg', 'a') },
      { op: 'link', from: join(root, 'missing'), to: join(root, 'pkg', 'x') },
      { op: 'symlink', target: 'a', path: join(root, 'pkg', 'alias') },
      { op: 'chmod', path: dests[1] as string, mode: 0o555 },
    ]);
    expect(r.map((x) => x.ok)).toEqual([true, false, true, true]);
    expect(r[1]).toMatchObject({ code: 'ENOENT' });
    expect((await stat(join(root, 'pkg', 'a'))).ino).toBe((await stat(dests[0] as string)).ino);
    expect(await readlink(join(root, 'pkg', 'alias'))).toBe('a');
    expect((await stat(dests[1] as string)).mode & 0o777).toBe(0o555);
  });

  it.each(['run', 'runSpread'] as const)('adopt (%s) gives a file in a package tree its cache name as a second link: shard directory made, a wrong name replaced, the mode set, the tree file kept', async (how) => {
    const root = fresh();
    await mkdir(join(root, 'tree'), { recursive: true });
    const homes = [join(root, 'tree', 'a'), join(root, 'tree', 'b'), join(root, 'tree', 'c')];
    throwIfFailed(await ops.run(homes.map((dest, i): FsOp => ({ op: 'write', dest, data: Buffer.from(`object ${i}`), mode: 0o600 }))));
    const dests = [join(root, 'cache', 'aa', 'a'), join(root, 'cache', 'aa', 'b'), join(root, 'cache', 'bb', 'c')];
    // The cache holds a wrong (short) copy under the second name: a commit must replace it, as a rename did.
    await mkdir(join(root, 'cache', 'aa'), { recursive: true });
    await writeFile(dests[1] as string, 'short');
    const steps = homes.map((from, i): FsOp => ({ op: 'adopt', from, dest: dests[i] as string, tmp: join(root, `tmp-${i}`), mode: 0o444 }));
    const r = how === 'run' ? await ops.run(steps) : await ops.runSpread(steps);
    expect(r.map((x) => x.ok)).toEqual([true, true, true]);
    for (const [i, home] of homes.entries()) {
      const [h, d] = [await stat(home), await stat(dests[i] as string)];
      expect(d.ino).toBe(h.ino);
      expect(h.nlink).toBe(2);
      expect(h.mode & 0o777).toBe(0o444);
      expect(await readFile(dests[i] as string, 'utf8')).toBe(`object ${i}`);
    }
    const [missing] = await ops.run([{ op: 'adopt', from: join(root, 'tree', 'gone'), dest: join(root, 'cache', 'cc', 'x'), tmp: join(root, 'tmp-x') }]);
    expect(missing).toMatchObject({ ok: false, code: 'ENOENT' });
  });

  it('writeAt makes a new file from pieces, never over an existing name nor through a symlink', async () => {
    const dest = fresh();
    const a = body.subarray(0, 1_000_000);
    const b = body.subarray(1_000_000);
    throwIfFailed(await ops.run([{ op: 'writeAt', path: dest, data: a, pos: 0, create: true, mode: 0o444 }]));
    throwIfFailed(await ops.run([{ op: 'writeAt', path: dest, data: b, pos: a.length, create: false, mode: 0o444 }]));
    expect((await readFile(dest)).equals(body)).toBe(true);
    expect((await stat(dest)).mode & 0o777).toBe(0o444);
    // A piece from shared memory (what a pack's gather buffer is when threads write) lands the same.
    const shared = Buffer.from(new SharedArrayBuffer(16));
    shared.write('shared bytes ok!');
    const viaShared = fresh();
    throwIfFailed(await ops.run([{ op: 'writeAt', path: viaShared, data: shared, pos: 0, create: true, mode: 0o444 }]));
    expect(await readFile(viaShared, 'utf8')).toBe('shared bytes ok!');
    const [again] = await ops.run([{ op: 'writeAt', path: dest, data: a, pos: 0, create: true, mode: 0o444 }]);
    expect(again).toMatchObject({ ok: false, code: 'EEXIST' });
    const link = fresh();
    const victim = fresh();
    await writeFile(victim, 'untouched');
    await symlink(victim, link);
    const [through] = await ops.run([{ op: 'writeAt', path: link, data: a, pos: 0, create: false, mode: 0o444 }]);
    expect(through).toMatchObject({ ok: false, code: 'ELOOP' });
    expect(await readFile(victim, 'utf8')).toBe('untouched');
  });
});

describe('thread runner failures', () => {
  it('a step on a closed runner is refused, not left hanging', async () => {
    const ops = threadFsOpRunner(1);
    await ops.close();
    await expect(ops.run([{ op: 'mkdir', path: '/nonexistent/x', mode: 0o755 }])).rejects.toThrow(/exited/);
  });
});
