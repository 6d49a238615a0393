// Reading a file into two buffers used in turn: a buffer is never read into while the consumer still
// holds a view of it, and every way the read can stop is reported.
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFdInto } from '../../src/util/read-fd-into.js';

let dir: string;
const data = randomBytes(3 * 1024 * 1024 + 12_345);
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-read-fd-into-'));
  await writeFile(join(dir, 'f'), data);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const short = (got: number): Error => new Error(`short after ${got}`);
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

async function withFile<T>(run: (fd: number) => Promise<T>): Promise<T> {
  const fh = await open(join(dir, 'f'), 'r');
  try {
    return await run(fh.fd);
  } finally {
    await fh.close();
  }
}

describe('readFdInto', () => {
  it('hands every byte over in order, and a view stays intact until its consume settles while the next read runs', async () => {
    const parts: Buffer[] = [];
    let at = 0;
    await withFile((fd) =>
      readFdInto(fd, data.length, async (view) => {
        const from = at;
        at += view.length;
        // Held over several turns of the loop, in which the next read completes into the other buffer.
        for (let i = 0; i < 5; i++) await turn();
        expect(view.equals(data.subarray(from, from + view.length)), `the view at ${from} was overwritten`).toBe(true);
        parts.push(Buffer.from(view));
      }, short),
    );
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    expect(parts.length).toBeGreaterThan(4);
  });

  it('reads only the first `size` bytes', async () => {
    let got = 0;
    await withFile((fd) => readFdInto(fd, 1000, (view) => Promise.resolve(void (got += view.length)), short));
    expect(got).toBe(1000);
  });

  it('a file shorter than `size` fails with short(bytes read)', async () => {
    await expect(withFile((fd) => readFdInto(fd, data.length + 10, () => Promise.resolve(), short))).rejects.toThrow(`short after ${data.length}`);
  });

  it('a consumer that fails stops the read with its error', async () => {
    let calls = 0;
    const run = withFile((fd) =>
      readFdInto(fd, data.length, () => {
        calls++;
        return Promise.reject(new Error('parser failed'));
      }, short),
    );
    await expect(run).rejects.toThrow('parser failed');
    // The failure is seen before a third buffer is handed over.
    expect(calls).toBeLessThanOrEqual(2);
  });

  it('an aborted signal stops the read with its reason', async () => {
    const ac = new AbortController();
    const run = withFile((fd) =>
      readFdInto(fd, data.length, () => {
        ac.abort(new Error('stopped by the operator'));
        return Promise.resolve();
      }, short, ac.signal),
    );
    await expect(run).rejects.toThrow('stopped by the operator');
  });
});
