// Which fetches write their files on the main thread as the bytes arrive (fetch-closure.ts, writesInline):
// those from a plain HTTP store, whose packs come through the store's own read buffer, unless threads are
// asked for or writes go around the page cache. Everything else keeps its way: a directory store its
// copying threads, HTTPS and S3 their streams.
import { describe, expect, it } from 'vitest';
import { writesInline } from '../../src/fetch/fetch-closure.js';
import { openStore } from '../../src/store/open-store.js';

describe('writesInline: the fetches that write as their bytes arrive', () => {
  const http = openStore('http://127.0.0.1:9/store');
  it('from a plain HTTP store, by default', () => {
    expect(writesInline({ stores: [http] }, false)).toBe(true);
    // The first store decides: it is the one packs come from.
    expect(writesInline({ stores: [http, openStore('/srv/mirror')] }, false)).toBe(true);
  });
  it('not with O_DIRECT writes (FLOTILLA_DIRECT_WRITES=1), whose waits a thread overlaps', () => {
    expect(writesInline({ stores: [http] }, true)).toBe(false);
  });
  it('not when threads are asked for, none included (fsThreads: 0 keeps the pool path)', () => {
    expect(writesInline({ stores: [http], fsThreads: 2 }, false)).toBe(false);
    expect(writesInline({ stores: [http], fsThreads: 0 }, false)).toBe(false);
  });
  it('not from a directory store, HTTPS or S3', () => {
    expect(writesInline({ stores: [openStore('/srv/store')] }, false)).toBe(false);
    expect(writesInline({ stores: [openStore('https://cache.example/store')] }, false)).toBe(false);
    expect(writesInline({ stores: [openStore('s3://bucket/prefix')] }, false)).toBe(false);
    expect(writesInline({ stores: [] }, false)).toBe(false);
  });
});
