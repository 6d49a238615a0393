import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingObjects, openObjectCache, type ObjectCache } from '../../src/fetch/object-cache.js';
import { digestFromHex, type Digest } from '../../src/store/digest.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

const digestOf = (s: string): Digest => digestFromHex(createHash('sha256').update(s).digest('hex'));

describe('missingObjects', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let cache: ObjectCache;
  beforeAll(async () => {
    t = await makeTempDir();
    cache = await openObjectCache(t.dir);
  });
  afterAll(async () => t.cleanup());

  it('answers an empty cache without looking further, and an empty list with nothing', async () => {
    const items = ['a', 'b'].map((s) => ({ digest: digestOf(s), size: 1 }));
    expect(await missingObjects(cache, items)).toEqual(items);
    expect(await missingObjects(cache, [])).toEqual([]);
  });

  it('counts as present only a regular file of the exact size, per variant', async () => {
    const put = async (path: string, body: string | null): Promise<void> => {
      await mkdir(dirname(path), { recursive: true });
      if (body === null) await mkdir(path);
      else await writeFile(path, body);
    };
    const good = { digest: digestOf('good'), size: 4 };
    const short = { digest: digestOf('short'), size: 5 };
    const dir = { digest: digestOf('dir'), size: 3 };
    const absent = { digest: digestOf('absent'), size: 6 };
    await put(cache.path(good.digest), 'good');
    await put(cache.path(short.digest), 'shor');
    await put(cache.path(dir.digest), null);
    await put(cache.path(good.digest, true), 'goo');
    const missing = await missingObjects(cache, [good, short, dir, absent]);
    expect(missing.map((m) => m.digest).sort()).toEqual([short, dir, absent].map((m) => m.digest).sort());
    expect(await missingObjects(cache, [good], true)).toEqual([good]);
  });

  it('stats more names than one synchronous slice holds', async () => {
    const items = Array.from({ length: 2500 }, (_, i) => ({ digest: digestOf(`n${i}`), size: String(i).length }));
    for (const it of items.filter((_, i) => i % 2 === 0)) {
      await mkdir(dirname(cache.path(it.digest)), { recursive: true });
      await writeFile(cache.path(it.digest), String(items.indexOf(it)));
    }
    const missing = await missingObjects(cache, items);
    expect(missing).toHaveLength(1250);
    expect(new Set(missing)).toEqual(new Set(items.filter((_, i) => i % 2 === 1)));
  });
});
