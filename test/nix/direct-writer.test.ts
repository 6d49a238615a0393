// A large NAR file is written with O_DIRECT from page-aligned slots: byte-identical, its last partial block
// through the ordinary descriptor, never more than its slots ahead of the disk, back to ordinary writes when
// the kernel refuses a direct one, and a failed write surfaces. Real files in the test's temp dir (the
// filesystem a state dir lives on).
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alignedSlots, createDirectWriter, DIRECT_SLOT, openDirect, type DirectWriter } from '../../src/nix/direct-writer.js';

let tmp: string;
let before: string | undefined;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'flotilla-direct-'));
  // Direct writes are off unless asked for (src/util/direct-writes.ts); these tests ask.
  before = process.env['FLOTILLA_DIRECT_WRITES'];
  process.env['FLOTILLA_DIRECT_WRITES'] = '1';
});
afterEach(async () => {
  if (before === undefined) delete process.env['FLOTILLA_DIRECT_WRITES'];
  else process.env['FLOTILLA_DIRECT_WRITES'] = before;
  await rm(tmp, { recursive: true, force: true });
});

/** Pushes `bytes` in `chunk`-byte pieces, waiting whenever the writer asks to. */
async function pushAll(w: DirectWriter, bytes: Buffer, chunk: number): Promise<void> {
  for (let i = 0; i < bytes.length; i += chunk) {
    const wait = w.push(bytes.subarray(i, i + chunk));
    if (wait !== undefined) await wait;
  }
}

/** Creates `name` as the unpacker does (exclusive, never through a link) and opens its direct twin. */
async function create(name: string): Promise<{ path: string; fd: number; directFd: number }> {
  const path = join(tmp, name);
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  const directFd = await openDirect(path);
  if (directFd === undefined) throw new Error(`the filesystem of ${tmpdir()} refuses O_DIRECT; these tests need one that takes it (ext4, xfs, btrfs)`);
  return { path, fd, directFd };
}

describe('the direct writer', () => {
  it('is not used unless FLOTILLA_DIRECT_WRITES=1: openDirect answers no descriptor', async () => {
    const path = join(tmp, 'plain');
    closeSync(openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600));
    for (const value of [undefined, '0', 'yes']) {
      if (value === undefined) delete process.env['FLOTILLA_DIRECT_WRITES'];
      else process.env['FLOTILLA_DIRECT_WRITES'] = value;
      expect(await openDirect(path), String(value)).toBeUndefined();
    }
  });

  it('writes a file byte-identical, whole slots direct and the last partial block through the ordinary descriptor', async () => {
    const { path, fd, directFd } = await create('f');
    const bytes = randomBytes(3 * DIRECT_SLOT + 12_345);
    const w = createDirectWriter(fd, directFd, alignedSlots(3));
    await pushAll(w, bytes, 100_003);
    // Had the tail gone through the direct descriptor, its unaligned length would have been refused and
    // the writer would report falling back.
    expect(await w.end()).toEqual({ written: bytes.length, direct: true });
    closeSync(fd);
    expect((await readFile(path)).equals(bytes)).toBe(true);
  });

  it('holds no more than its slots: with three, the fourth full slot waits for the first write', async () => {
    const { path, fd, directFd } = await create('f');
    const bytes = randomBytes(5 * DIRECT_SLOT);
    const w = createDirectWriter(fd, directFd, alignedSlots(3));
    const waits: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const wait = w.push(bytes.subarray(i * DIRECT_SLOT, (i + 1) * DIRECT_SLOT));
      waits.push(wait !== undefined);
      if (wait !== undefined) await wait;
    }
    expect(waits.slice(0, 4)).toEqual([false, false, false, true]);
    expect(await w.end()).toEqual({ written: bytes.length, direct: true });
    closeSync(fd);
    expect((await readFile(path)).equals(bytes)).toBe(true);
  });

  it('goes on with ordinary writes when the kernel refuses a direct one (EINVAL: misaligned memory), and the file is whole', async () => {
    const { path, fd, directFd } = await create('f');
    // Slots one byte off any boundary: every direct write of them is refused.
    const raw = Buffer.alloc(3 * DIRECT_SLOT + 1);
    const misaligned = [0, 1, 2].map((i) => raw.subarray(1 + i * DIRECT_SLOT, 1 + (i + 1) * DIRECT_SLOT));
    const bytes = randomBytes(2 * DIRECT_SLOT + 4096 * 3 + 7);
    const w = createDirectWriter(fd, directFd, misaligned);
    await pushAll(w, bytes, 65_536);
    expect(await w.end()).toEqual({ written: bytes.length, direct: false });
    closeSync(fd);
    expect((await readFile(path)).equals(bytes)).toBe(true);
  });

  it('surfaces a failed write (here EBADF) through push or end, never as an unhandled rejection', async () => {
    const { path, fd, directFd } = await create('f');
    closeSync(directFd);
    // A descriptor that cannot write, in the direct one's place.
    const readOnly = openSync(path, constants.O_RDONLY);
    const w = createDirectWriter(fd, readOnly, alignedSlots(3));
    const failure = pushAll(w, randomBytes(5 * DIRECT_SLOT), DIRECT_SLOT)
      .then(() => w.end())
      .catch(async (err: unknown) => {
        await w.abort();
        throw err;
      });
    await expect(failure).rejects.toMatchObject({ code: 'EBADF' });
    closeSync(fd);
  });

  it('abort waits for the writes in flight and closes the direct descriptor', async () => {
    const { fd, directFd } = await create('f');
    const w = createDirectWriter(fd, directFd, alignedSlots(3));
    expect(w.push(randomBytes(DIRECT_SLOT))).toBeUndefined();
    await w.abort();
    expect(() => closeSync(directFd)).toThrow(expect.objectContaining({ code: 'EBADF' }) as Error);
    closeSync(fd);
  });
});
