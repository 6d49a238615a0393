import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashFile } from '../../src/fetch/hash-file.js';

describe('hashFile', () => {
  let dir: string;
  const body = Buffer.alloc(3 * 1024 * 1024 + 17, 5);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-hash-file-'));
    body.write('different tail', body.length - 20);
    await writeFile(join(dir, 'f'), body);
    await writeFile(join(dir, 'empty'), Buffer.alloc(0));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('hashes a file of several read chunks exactly', async () => {
    const want = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    expect(await hashFile(join(dir, 'f'), body.length)).toEqual({ bytes: body.length, digest: want });
    expect(await hashFile(join(dir, 'empty'), 0)).toEqual({ bytes: 0, digest: `sha256:${createHash('sha256').digest('hex')}` });
  });

  it('stops one byte past the limit, so a too-big file is recognised without reading it whole', async () => {
    expect((await hashFile(join(dir, 'f'), 1000)).bytes).toBe(1001);
    expect((await hashFile(join(dir, 'f'), body.length - 1)).bytes).toBe(body.length);
  });

  it('many concurrent calls each get the right digest (buffers are reused, never shared)', async () => {
    const files = await Promise.all(Array.from({ length: 24 }, async (_, i) => {
      const b = Buffer.alloc(1024 * 1024 + i * 1000, i);
      await writeFile(join(dir, `c${i}`), b);
      return { path: join(dir, `c${i}`), want: `sha256:${createHash('sha256').update(b).digest('hex')}`, size: b.length };
    }));
    const got = await Promise.all(files.map((f) => hashFile(f.path, f.size)));
    expect(got.map((g) => g.digest)).toEqual(files.map((f) => f.want));
  });
});
