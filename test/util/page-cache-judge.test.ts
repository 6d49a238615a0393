// The judge of the page cache (src/util/page-cache-judge.ts) and the setting it serves
// (src/util/direct-writes.ts): slow only on a window of slow writes, not on a few; slow for good once so.
import { describe, expect, it } from 'vitest';
import { directWritesNow, directWritesSetting } from '../../src/util/direct-writes.js';
import { createPageCacheJudge } from '../../src/util/page-cache-judge.js';

const KiB256 = 256 * 1024;

describe('page cache judge', () => {
  it('says nothing until eight writes were noted, however slow', () => {
    const j = createPageCacheJudge();
    for (let i = 0; i < 7; i++) j.note(KiB256, 5);
    expect(j.slow()).toBe(false);
    j.note(KiB256, 5);
    expect(j.slow()).toBe(true);
  });

  it('takes warm writes (~0.1 ms per 256 KiB) for a quick cache, with a few slow ones among them', () => {
    const j = createPageCacheJudge();
    for (let i = 0; i < 40; i++) j.note(KiB256, i % 4 === 0 ? 3 : 0.1);
    expect(j.slow()).toBe(false);
  });

  it('takes writes of pages faulting into the host (~0.65 ms per 256 KiB) for a slow cache, and holds to it', () => {
    const j = createPageCacheJudge();
    for (let i = 0; i < 8; i++) j.note(KiB256, 0.1);
    for (let i = 0; i < 8; i++) j.note(KiB256, 0.65);
    expect(j.slow()).toBe(true);
    for (let i = 0; i < 40; i++) j.note(KiB256, 0.05);
    expect(j.slow()).toBe(true);
  });

  it('samples the first eight writes, then one in eight, and none once it found the cache slow', () => {
    const j = createPageCacheJudge();
    const picked = Array.from({ length: 40 }, (_, i) => (j.sample() ? i + 1 : 0)).filter((n) => n > 0);
    expect(picked).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 16, 24, 32, 40]);
    for (let i = 0; i < 8; i++) j.note(KiB256, 1);
    expect(j.slow()).toBe(true);
    expect(Array.from({ length: 16 }, () => j.sample())).not.toContain(true);
  });

  it('serves the setting: FLOTILLA_DIRECT_WRITES=1 always, =0 never, anything else as judged', () => {
    const slow = createPageCacheJudge();
    for (let i = 0; i < 8; i++) slow.note(KiB256, 1);
    const quick = createPageCacheJudge();
    expect(directWritesSetting({})).toBe('auto');
    expect(directWritesSetting({ FLOTILLA_DIRECT_WRITES: 'yes' })).toBe('auto');
    expect(directWritesNow({ FLOTILLA_DIRECT_WRITES: '1' }, quick)).toBe(true);
    expect(directWritesNow({ FLOTILLA_DIRECT_WRITES: '0' }, slow)).toBe(false);
    expect(directWritesNow({}, slow)).toBe(true);
    expect(directWritesNow({}, quick)).toBe(false);
  });
});
