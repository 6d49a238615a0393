// The NAR rules, one hostile archive per rule (crafted bytes: the parser is pure logic over a byte stream).
// Real archives from `nix-store --dump` are covered end to end in nix-cache.test.ts.
import { lstat, mkdir, mkdtemp, readdir, readlink, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseNar, type NarSink } from '../../src/nix/index.js';
import { ByteReader } from '../../src/nix/byte-reader.js';
import { createUnpackSink } from '../../src/nix/nar-unpack.js';
import { dir, entry, file, nar, str } from '../helpers/nar-bytes.js';

const events: string[] = [];
const recorder: NarSink = {
  directory: (p) => Promise.resolve(void events.push(`d ${p}`)),
  async file(p, x, size, contents) {
    let n = 0;
    for await (const c of contents) n += c.length;
    events.push(`${x ? 'x' : 'f'} ${p} ${size}/${n}`);
  },
  symlink: (p, t) => Promise.resolve(void events.push(`l ${p} -> ${t}`)),
};

function chunked(b: Buffer, size = 3): Readable {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return Readable.from(out);
}

describe('NAR parser', () => {
  it('reads files, executables, symlinks and directories, whatever the chunking', async () => {
    events.length = 0;
    const body = nar(...dir(entry('a', file('hello')), entry('b', ['(', 'type', 'regular', 'executable', '', 'contents', 'x', ')']), entry('c', ['(', 'type', 'symlink', 'target', '../../etc/passwd', ')']), entry('d', dir())));
    const want = ['d ', 'f a 5/5', 'x b 1/1', 'l c -> ../../etc/passwd', 'd d'];
    await parseNar(chunked(body), recorder, '/nix/store/x');
    expect(events).toEqual(want);
    events.length = 0;
    await parseNar(chunked(body, body.length), recorder, '/nix/store/x');
    expect(events).toEqual(want);
  });

  it('reads the same through one buffer reused at each pull, at every chunk size', async () => {
    // A reader's buffer (store.readInto) is overwritten once the parser pulls the next chunk: any view the
    // parser kept across a pull (a name, a token, a target, file bytes) would read scribbled bytes.
    async function* reused(b: Buffer, size: number): AsyncGenerator<Buffer> {
      const buf = Buffer.alloc(size);
      for (let at = 0; at < b.length; at += size) {
        buf.fill(0xff);
        const n = b.copy(buf, 0, at, at + size);
        yield await Promise.resolve(buf.subarray(0, n));
      }
    }
    const copying: NarSink = {
      ...recorder,
      async file(p, x, size, contents) {
        const parts: Buffer[] = [];
        for await (const c of contents) parts.push(Buffer.from(c));
        events.push(`${x ? 'x' : 'f'} ${p} ${size}/${Buffer.concat(parts).toString('latin1')}`);
      },
    };
    const body = nar(...dir(entry('a', file('hello')), entry('bb', ['(', 'type', 'regular', 'executable', '', 'contents', 'seven77', ')']), entry('ccc', ['(', 'type', 'symlink', 'target', '../x', ')']), entry('dddddddd', dir(entry('e', file('')), entry('f', file('123456789'))))));
    const want = ['d ', 'f a 5/hello', 'x bb 7/seven77', 'l ccc -> ../x', 'd dddddddd', 'f dddddddd/e 0/', 'f dddddddd/f 9/123456789'];
    for (let size = 1; size <= 80; size++) {
      events.length = 0;
      await parseNar(reused(body, size), copying, '/nix/store/x');
      expect(events, `chunks of ${size}`).toEqual(want);
    }
  });

  it.each<[string, Buffer, RegExp]>([
    ['bad magic', Buffer.concat([str('nix-archive-2'), ...file('x').map(str)]), /expected "nix-archive-1"/],
    ['unsorted names', nar(...dir(entry('b', file('')), entry('a', file('')))), /sorted and unique/],
    ['duplicate names', nar(...dir(entry('a', file('')), entry('a', file('')))), /sorted and unique/],
    ['a name "."', nar(...dir(entry('.', file('')))), /named "\."/],
    ['a name ".."', nar(...dir(entry('..', file('')))), /named "\.\."/],
    ['a name with "/"', nar(...dir(entry('a/b', file('')))), /holds "\/" or NUL/],
    ['a name with NUL', nar(...dir(entry('a\u0000b', file('')))), /holds "\/" or NUL/],
    ['an empty name', nar(...dir(entry('', file('')))), /empty entry name/],
    ['a name that is not UTF-8', nar(...dir(entry(Buffer.from([0xff, 0xfe]), file('')))), /not UTF-8/],
    ['an unknown node type', nar('(', 'type', 'fifo', ')'), /only regular, symlink and directory/],
    ['nonzero padding', Buffer.concat([str('nix-archive-1'), str('('), str('type'), str('regular'), str('contents'), Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('x\u0001\0\0\0\0\0\0'), str(')')]), /nonzero padding/],
    ['a truncated stream', nar(...file('hello')).subarray(0, 70), /truncated/],
    ['bytes after the archive', Buffer.concat([nar(...file('x')), Buffer.alloc(8)]), /bytes follow/],
    ['an empty symlink target', nar('(', 'type', 'symlink', 'target', '', ')'), /empty target/],
    ['a huge name length', Buffer.concat([nar('(', 'type', 'directory', 'entry', '(', 'name'), Buffer.from('ffffffffffffff7f', 'hex')]), /over the limit/],
    ['nesting past the limit', nar(...Array.from({ length: 300 }, () => ['(', 'type', 'directory', 'entry', '(', 'name', 'a', 'node']).flat()), /nest deeper/],
  ])('refuses %s', async (_name, body, message) => {
    // In 64-byte chunks (strings straddle chunks: the waiting path) and whole (every check without waiting).
    await expect(parseNar(chunked(body, 64), recorder, '/nix/store/x')).rejects.toThrow(message);
    await expect(parseNar(chunked(body, body.length), recorder, '/nix/store/x')).rejects.toThrow(message);
  });

  it('unpacks without following symlinks: an escaping target is stored as-is, nothing outside is touched', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'flotilla-nar-'));
    const out = join(tmp, 'p');
    // The link's target is a real directory with its own mode and mtime: setting Nix's mtime 1 or read-only
    // mode through the link (utimes instead of lutimes) would change them.
    const outside = join(tmp, 'outside');
    await mkdir(outside, { mode: 0o750 });
    await utimes(outside, 1_700_000_000, 1_700_000_000);
    const sink = createUnpackSink(out, '/nix/store/x');
    await parseNar(chunked(nar(...dir(entry('esc', ['(', 'type', 'symlink', 'target', outside, ')']), entry('f', file('data'))))), sink, '/nix/store/x');
    await sink.finish();
    expect(await readdir(out)).toEqual(['esc', 'f']);
    expect(await readlink(join(out, 'esc'))).toBe(outside);
    expect((await lstat(join(out, 'esc'))).mtimeMs).toBe(1000);
    const st = await stat(outside);
    expect(st.mtimeMs).toBe(1_700_000_000_000);
    expect(st.mode & 0o777).toBe(0o750);
  });
});

describe('ByteReader', () => {
  const source = (...chunks: string[]): Readable => Readable.from(chunks.map((c) => Buffer.from(c)));

  it('reads exact counts across chunk boundaries, copying only what straddles, and hands file bytes as views', async () => {
    const chunks = ['abc', '', 'defgh', 'ijklmnop', 'qr'];
    const r = new ByteReader(source(...chunks), (n) => new Error(`short by ${n}`));
    expect((await r.read(2)).toString()).toBe('ab');
    expect((await r.read(7)).toString()).toBe('cdefghi'); // three chunks, one empty
    const views: string[] = [];
    for await (const c of r.chunks(8)) views.push(c.toString());
    expect(views).toEqual(['jklmnop', 'q']);
    expect(r.offset).toBe(17);
    expect(await r.atEnd()).toBe(false);
    await expect(r.read(2)).rejects.toThrow('short by 1');
    expect(await r.atEnd()).toBe(true);
  });
});
