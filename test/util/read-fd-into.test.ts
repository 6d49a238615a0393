// Reading a file into two buffers used in turn: a buffer is never read into while the consumer still
// holds a view of it, the next read is already out while a view is consumed, and every way the read can
// stop is reported.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
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

  /**
   * Runs `body` with fs.read wrapped where read-fd-into.ts imports it from (a live binding of node:fs,
   * synced with syncBuiltinESMExports): each read is logged as `read POSITION`, and `inFlight` counts the
   * reads not yet called back.
   */
  async function watchingReads<T>(body: (log: string[], inFlight: () => number) => Promise<T>): Promise<T> {
    const cjsFs = createRequire(import.meta.url)('node:fs') as typeof fs;
    const real = cjsFs.read;
    const log: string[] = [];
    let pending = 0;
    cjsFs.read = ((...args: unknown[]) => {
      log.push(`read ${String(args[4])}`);
      pending++;
      const cb = args[5] as (...r: unknown[]) => void;
      return (real as (...a: unknown[]) => void)(...args.slice(0, 5), (...r: unknown[]) => {
        pending--;
        cb(...r);
      });
    }) as typeof fs.read;
    syncBuiltinESMExports();
    try {
      return await body(log, () => pending);
    } finally {
      cjsFs.read = real;
      syncBuiltinESMExports();
    }
  }

  it('asks for the next read before it hands a view over, so a synchronous consumer never waits on one', async () => {
    let at = 0;
    const log = await watchingReads(async (log) => {
      await withFile((fd) =>
        readFdInto(fd, data.length, (view) => {
          log.push(`consume ${at}`);
          at += view.length;
          return undefined;
        }, short),
      );
      return log;
    });
    expect(at).toBe(data.length);
    const consumed = log.filter((l) => l.startsWith('consume'));
    expect(consumed.length).toBeGreaterThan(4);
    // Every view but the last: the read of the bytes after it was already asked for.
    for (const c of consumed.slice(0, -1)) {
      const start = Number(c.split(' ')[1]);
      const next = log.findIndex((l, i) => l.startsWith('read') && Number(l.split(' ')[1]) > start && i < log.indexOf(c));
      expect(next, `no read ahead of ${c}: ${log.join(', ')}`).toBeGreaterThanOrEqual(0);
    }
  });

  it('settles with no read in flight, even when the consumer throws while the next read is out', async () => {
    await watchingReads(async (_log, inFlight) => {
      const run = withFile((fd) =>
        readFdInto(fd, data.length, () => {
          throw new Error('parser failed at once');
        }, short).finally(() => expect(inFlight()).toBe(0)),
      );
      await expect(run).rejects.toThrow('parser failed at once');
    });
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
