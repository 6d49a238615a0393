import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FlotillaError, hasCode } from '../../src/errors/index.js';
import { createFsStore } from '../../src/store/fs-store.js';
import { readSmallFileSync } from '../../src/util/read-small-file.js';
import { transpileSources } from './child-modules.js';

const exec = promisify(execFile);
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const SLOW = process.env.FLOTILLA_SLOW === '1';

describe('directory store on disk', () => {
  let dir: string;
  let work: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-fs-disk-'));
    work = await mkdtemp(join(tmpdir(), 'flotilla-fs-child-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('keeps temp, lock and etag files out of listings, and leaves no temp file after writes', async () => {
    const s = createFsStore(dir);
    await s.put('t/a', Buffer.from('a'));
    await writeFile(join(dir, 't', '.tmp-a-1-crashed'), 'partial');
    await writeFile(join(dir, 't', '.lock-zz'), '1 h');
    expect((await s.list('t/')).items.map((i) => i.key)).toEqual(['t/a']);
    const names = await readdir(join(dir, 't'));
    expect(names.filter((n) => n.startsWith('.tmp-') && n !== '.tmp-a-1-crashed')).toEqual([]);
    expect(names.filter((n) => n.startsWith('.lock-') && n !== '.lock-zz')).toEqual([]);
  });

  it('localPath names the file of a key under the root and refuses a key that could leave it', async () => {
    const s = createFsStore(dir);
    const body = Buffer.alloc(300_000, 9);
    await s.put('copy/a', body);
    expect((await readFile(s.localPath?.('copy/a') ?? '')).equals(body)).toBe(true);
    expect(s.localPath?.('copy/none')).toBe(join(dir, 'copy', 'none'));
    expect(() => s.localPath?.('../escape')).toThrow(/key/);
    expect(() => s.localPath?.('/abs')).toThrow(/key/);
  });

  it('treats a key prefix (a directory) as no object, and fails with a typed error under a file', async () => {
    const s = createFsStore(dir);
    await s.put('p/q/r', Buffer.from('x'));
    expect(s.isNotFound(await s.head('p/q').catch((e: unknown) => e))).toBe(true);
    expect(s.isNotFound(await s.getBytes('p', { maxBytes: 10 }).catch((e: unknown) => e))).toBe(true);
    await s.delete('p/q'); // like S3: deleting a prefix that is not a key is a no-op
    expect((await s.list('p/')).items.map((i) => i.key)).toEqual(['p/q/r']);
    const underFile = createFsStore(join(dir, 'p', 'q', 'r'));
    expect((await underFile.list('')).items).toEqual([]);
    const err = await underFile.put('k', Buffer.from('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlotillaError);
  });

  // Opening a FIFO for reading waits for a writer: one in an object's place (a shared cache directory
  // tampered with, or a mistake) must be no object, at once, not a fetch that hangs on a libuv thread.
  it('reads a small key into a buffer of its size, not a stream\'s 1 MiB, by get and getBytes alike', async () => {
    const s = createFsStore(dir);
    const bytes = Buffer.from('StorePath: /nix/store/x\n'.repeat(20));
    await s.put('small/narinfo', bytes);
    // Spied, calling through: fs streams take each read's buffer from allocUnsafeSlow.
    const slow = vi.spyOn(Buffer, 'allocUnsafeSlow');
    const fast = vi.spyOn(Buffer, 'allocUnsafe');
    let sizes: number[];
    try {
      expect((await s.getBytes('small/narinfo', { maxBytes: 1 << 20 })).equals(bytes)).toBe(true);
      const chunks: Buffer[] = [];
      for await (const c of await s.get('small/narinfo', { maxBytes: 1 << 20 })) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
      sizes = [...slow.mock.calls, ...fast.mock.calls].map(([n]) => n);
    } finally {
      slow.mockRestore();
      fast.mockRestore();
    }
    expect(sizes.length).toBeGreaterThan(0);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64 * 1024);
  });

  it('getBytes reads a file past the size its stat gave, and caps what it reads, not what stat said', async () => {
    // /proc/self/status is a regular file whose stat says 0 bytes and which reads as ~1 KiB: the bytes, not
    // the size, are the truth.
    const s = createFsStore('/proc/self');
    const all = await s.getBytes('status', { maxBytes: 1 << 20 });
    expect(all.toString('utf8')).toMatch(/^Name:/);
    expect(all.length).toBeGreaterThan(100);
    const err = await s.getBytes('status', { maxBytes: 100 }).then(() => undefined, (e: unknown) => e);
    expect(hasCode(err, 'SizeLimitError')).toBe(true);
    expect((err as Error).message).toMatch(/status in file:\/\/\/proc\/self is larger than the limit of 100 bytes/);
  });

  it('getBytes reads a file larger than it reads at once (64 KiB) through the pool, whole, and refuses it past maxBytes', async () => {
    const s = createFsStore(dir);
    const big = Buffer.alloc(200 * 1024, 7);
    big.write('end', big.length - 3);
    await s.put('big/object', big);
    expect((await s.getBytes('big/object', { maxBytes: 1 << 20 })).equals(big)).toBe(true);
    expect((await s.getBytes('big/object', { maxBytes: big.length })).equals(big)).toBe(true);
    const err = await s.getBytes('big/object', { maxBytes: big.length - 1 }).then(() => undefined, (e: unknown) => e);
    expect(hasCode(err, 'SizeLimitError')).toBe(true);
    // A small file under a maxBytes below it: refused the same way from the synchronous read.
    await s.put('big/small', Buffer.from('0123456789'));
    expect(hasCode(await s.getBytes('big/small', { maxBytes: 9 }).then(() => undefined, (e: unknown) => e), 'SizeLimitError')).toBe(true);
    expect((await s.getBytes('big/small', { maxBytes: 10 })).toString()).toBe('0123456789');
  });

  it('readSmallFileSync reads to the end, not to the stat\'s size, and is too big past its max', () => {
    const status = readSmallFileSync('/proc/self/status', 1 << 20);
    expect(status.kind).toBe('file');
    expect(status.kind === 'file' ? status.bytes.toString('utf8') : '').toMatch(/^Name:[\s\S]*\nPid:/);
    expect(readSmallFileSync('/proc/self/status', 100)).toMatchObject({ kind: 'too-big' });
  });

  it('treats a FIFO in an object\'s place as no object, without waiting for a writer', async () => {
    const s = createFsStore(dir);
    await s.put('f/real', Buffer.from('x'));
    await exec('mkfifo', [join(dir, 'f', 'pipe')]);
    const bounded = <T>(p: Promise<T>): Promise<T | 'hung'> => Promise.race([p, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5_000).unref())]);
    for (const read of [() => s.get('f/pipe'), () => s.getBytes('f/pipe', { maxBytes: 10 }), () => s.head('f/pipe')]) {
      const got = await bounded(read().catch((e: unknown) => e));
      expect(got).not.toBe('hung');
      expect(s.isNotFound(got)).toBe(true);
    }
  });

  it('answers the right etag after the file changed behind its back (stale sidecar)', async () => {
    const s = createFsStore(dir);
    await s.put('e/x', Buffer.from('one'));
    expect((await stat(join(dir, 'e', 'x'))).mode & 0o777).toBe(0o444);
    await chmod(join(dir, 'e', 'x'), 0o644);
    await writeFile(join(dir, 'e', 'x'), 'changed by hand');
    expect((await s.head('e/x')).etag).toBe(sha('changed by hand'));
    expect(await s.put('e/x', Buffer.from('two'), { ifMatch: sha('one') }).catch((e: unknown) => e)).toSatisfy((e) =>
      hasCode(e, 'PreconditionFailedError'),
    );
  });

  it('breaks a lock left by a dead process, and an old one, but waits for a live one', async () => {
    const s = createFsStore(dir, { lock: { waitMs: 300, staleMs: 5000 } });
    await s.put('l/k', Buffer.from('v'));
    await writeFile(join(dir, 'l', '.lock-k'), `999999 ${hostname()}\n`);
    await s.put('l/k', Buffer.from('after dead'));
    await writeFile(join(dir, 'l', '.lock-k'), `${process.pid} ${hostname()}\n`);
    expect(hasCode(await s.put('l/k', Buffer.from('x')).catch((e: unknown) => e), 'LockedError')).toBe(true);
    const old = new Date(Date.now() - 60_000);
    await utimes(join(dir, 'l', '.lock-k'), old, old);
    await s.put('l/k', Buffer.from('after old'));
    expect((await s.getBytes('l/k', { maxBytes: 100 })).toString()).toBe('after old');
  });

  it('loses no update when several processes compare-and-swap one counter', async () => {
    const src = await transpileSources(work);
    const script = join(work, 'counter.mjs');
    await writeFile(
      script,
      `import { createFsStore } from ${JSON.stringify(join(src, 'store/fs-store.js'))};
const [root, n] = process.argv.slice(2);
const s = createFsStore(root);
let conflicts = 0;
for (let i = 0; i < Number(n); ) {
  const { etag } = await s.head('counter');
  const v = Number((await s.getBytes('counter', { maxBytes: 64 })).toString());
  try { await s.put('counter', Buffer.from(String(v + 1)), { ifMatch: etag }); i++; }
  catch (e) { if (e.code !== 'PreconditionFailedError') throw e; conflicts++; }
}
let won = false;
try { await s.put('winner', Buffer.from(String(process.pid)), { ifNoneMatch: '*' }); won = true; }
catch (e) { if (e.code !== 'PreconditionFailedError') throw e; }
process.stdout.write(JSON.stringify({ won, conflicts }));
`,
    );
    const s = createFsStore(dir);
    await s.put('counter', Buffer.from('0'));
    const procs = SLOW ? 8 : 4;
    const each = SLOW ? 100 : 20;
    const outs = await Promise.all(
      Array.from({ length: procs }, () => exec(process.execPath, [script, dir, String(each)], { timeout: 120_000 })),
    );
    const results = outs.map((o) => JSON.parse(o.stdout) as { won: boolean; conflicts: number });
    expect((await s.getBytes('counter', { maxBytes: 64 })).toString()).toBe(String(procs * each));
    expect(results.filter((r) => r.won)).toHaveLength(1);
  }, 180_000);
});
