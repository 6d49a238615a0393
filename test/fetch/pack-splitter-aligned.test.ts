// A pack's objects of 64 KiB or more land on 4 KiB boundaries of the splitter's shared gather buffers, and
// a large object's pieces (all but its last) end on one, so the filesystem thread writes their blocks with
// O_DIRECT straight from there (fs-ops.ts). The NewFiles port is a recorder here (this tests the
// splitter's placement, not the disk); bytes and hashes are real.
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPackSplitter } from '../../src/fetch/pack-splitter.js';
import { openObjectCache } from '../../src/fetch/object-cache.js';
import type { NewFiles } from '../../src/fetch/new-files.js';
import { encodePackHeader, type PackEntry } from '../../src/packages/pack-format.js';
import { digestFromHex, type Digest } from '../../src/store/digest.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

const BLOCK = 4096;
let t: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  t = await makeTempDir();
});
afterEach(async () => {
  await t.cleanup();
});

interface Piece {
  path: string;
  pos: number;
  data: Buffer;
  /** Where the piece's bytes sit in their buffer, and whether that buffer is shared memory. */
  offset: number;
  shared: boolean;
  last: boolean;
}

function recorder(shared: boolean, direct: boolean): { files: NewFiles; pieces: Piece[] } {
  const pieces: Piece[] = [];
  const note = (path: string, data: Uint8Array, pos: number, last: boolean): void => {
    pieces.push({ path, pos, data: Buffer.from(data), offset: data.byteOffset, shared: data.buffer instanceof SharedArrayBuffer, last });
  };
  return {
    pieces,
    files: {
      shared,
      direct,
      inline: false,
      write: (items) => {
        for (const s of items) note(s.tmp, s.data, 0, true);
        return Promise.resolve();
      },
      writeAt: (path, data, pos, last = true) => {
        note(path, data, pos, last);
        return Promise.resolve();
      },
    },
  };
}

const entry = (data: Buffer): PackEntry => ({ digest: digestFromHex(createHash('sha256').update(data).digest('hex')), size: data.length });

/** Splits a pack of `objects` fed in reads of `read` bytes; returns each object's bytes as the files got them. */
async function split(objects: Buffer[], shared: boolean, read: number, direct = shared): Promise<{ pieces: Piece[]; files: Map<string, Buffer>; sizeOf: Map<string, number>; committed: Digest[] }> {
  const cache = await openObjectCache(t.dir);
  const entries = objects.map(entry);
  const { files, pieces } = recorder(shared, direct);
  const committed: Digest[] = [];
  const tmps = new Map<Digest, string>();
  const splitter = createPackSplitter(cache, 'sha256:pack' as Digest, entries, new Set(entries.map((e) => e.digest)), {
    files,
    commit: (tmp, digest) => {
      tmps.set(digest, tmp);
      return Promise.resolve();
    },
    onObject: (digest) => committed.push(digest),
  });
  const pack = Buffer.concat([encodePackHeader(entries), ...objects]);
  for (let off = 0; off < pack.length; off += read) await splitter.feed(pack.subarray(off, off + read));
  await splitter.end();
  const out = new Map<string, Buffer>();
  for (const p of pieces) {
    const have = out.get(p.path) ?? Buffer.alloc(0);
    expect(p.pos).toBe(have.length); // pieces arrive in order, none missing
    out.set(p.path, Buffer.concat([have, p.data]));
  }
  const sizeOf = new Map(entries.map((e) => [tmps.get(e.digest) ?? '', e.size]));
  return { pieces, files: new Map(entries.map((e) => [e.digest, out.get(tmps.get(e.digest) ?? '') ?? Buffer.alloc(0)])), sizeOf, committed };
}

describe('pack splitter: objects placed for direct writes', () => {
  // Sizes around every threshold: tiny, just under and at 64 KiB, a gathered 200 KiB, and large ones
  // written in pieces (one crossing two gather buffers), with odd sizes to misalign what follows.
  const objects = [17, 65_535, 65_536, 200_001, 3_000, 300_001, 1_234_567, 70_000].map((n) => randomBytes(n));

  it('with shared buffers and direct writes: every object of 64 KiB or more starts on a block of its buffer, every inner piece ends on one', async () => {
    for (const read of [1_000, 65_536, 131_072 + 7]) {
      const { pieces, files, sizeOf, committed } = await split(objects, true, read);
      expect(committed).toHaveLength(objects.length);
      for (const o of objects) expect(files.get(entry(o).digest)?.equals(o)).toBe(true);
      for (const p of pieces) {
        expect(p.shared).toBe(true);
        const size = sizeOf.get(p.path) ?? 0;
        if (size < 64 * 1024 || p.data.length === 0) continue;
        // The piece's place in memory and in its file agree modulo a block: the blocks between its
        // edges lie on page boundaries of the buffer.
        expect(Math.abs((p.offset - p.pos) % BLOCK), `piece at ${p.pos} of a ${size}-byte object, read ${read}`).toBe(0);
        if (!p.last) expect((p.pos + p.data.length) % BLOCK).toBe(0);
      }
    }
  });

  it.each([
    { shared: false, what: 'without threads (unshared buffers)' },
    { shared: true, what: 'on threads that write through the page cache (the default)' },
  ])('$what nothing is padded: objects follow one another', async ({ shared }) => {
    const { pieces, files } = await split(objects, shared, 65_536, false);
    for (const o of objects) expect(files.get(entry(o).digest)?.equals(o)).toBe(true);
    const gathered = pieces.filter((p) => p.last && p.pos === 0 && p.data.length <= 256 * 1024);
    // 17 B, 64 KiB - 1 and 64 KiB sit back to back in the first buffer.
    expect(gathered[1]?.offset).toBe((gathered[0]?.offset ?? 0) + 17);
    expect(gathered[2]?.offset).toBe((gathered[1]?.offset ?? 0) + 65_535);
    expect(pieces.every((p) => p.shared === shared)).toBe(true);
    // A large object starts where the one before it ended, so its pieces' ends fall off block boundaries.
    expect(pieces.some((p) => !p.last && (p.pos + p.data.length) % BLOCK !== 0)).toBe(true);
  });

  it('on threads that write through the page cache, a large object\'s piece is all that was gathered, not cut back to a block', async () => {
    // Reads of an odd size: a piece is issued once 256 KiB have gathered, at 300,009 bytes here; a cut to
    // a block boundary (only direct writes need one) would make it 299,008 and leave the rest for later.
    const { pieces, files } = await split(objects, true, 100_003, false);
    for (const o of objects) expect(files.get(entry(o).digest)?.equals(o)).toBe(true);
    // Inner pieces issued mid-buffer (a piece that reaches the buffer's end is never cut).
    const inner = pieces.filter((p) => !p.last && p.data.length > 0 && p.offset + p.data.length < 512 * 1024);
    expect(inner.length).toBeGreaterThan(0);
    expect(inner.some((p) => p.data.length % BLOCK !== 0)).toBe(true);
  });
});
