// startLater (fs-op-runner.ts): a fetch's early threads are made once started or first used, never twice, and
// never after the runner was closed (a fetch that failed before the threads' turn must not leave any behind).
import { describe, expect, it } from 'vitest';
import { inlineFsOpRunner, startLater, type FsOpRunner } from '../../src/fetch/fs-op-runner.js';

/** Runners made by `make`, counted, each a real inline runner with a close of its own counted. */
function counting(): { make: () => FsOpRunner; made: () => number; closed: () => number } {
  let made = 0;
  let closed = 0;
  return {
    make: () => {
      made++;
      const r = inlineFsOpRunner();
      return { ...r, close: () => Promise.resolve(void closed++) };
    },
    made: () => made,
    closed: () => closed,
  };
}

describe('startLater', () => {
  it('makes its runner once, at start or at the first step, and closes it', async () => {
    const c = counting();
    const r = startLater(c.make, false);
    expect(c.made()).toBe(0);
    r.start();
    r.start();
    expect(await r.run([{ op: 'size', path: '/nonexistent/flotilla-start-later' }], true)).toEqual([expect.objectContaining({ ok: false, code: 'ENOENT' })]);
    expect(c.made()).toBe(1);
    await r.close();
    expect(c.closed()).toBe(1);

    const lazy = startLater(c.make, false);
    await lazy.run([], true);
    expect(c.made()).toBe(2);
    await lazy.close();
  });

  it('once closed, starts nothing and refuses steps', async () => {
    const c = counting();
    const r = startLater(c.make, false);
    await r.close();
    r.start();
    await expect(r.run([], true)).rejects.toThrow(/closed/);
    await expect(r.runSpread([])).rejects.toThrow(/closed/);
    expect(c.made()).toBe(0);
    expect(c.closed()).toBe(0);
  });
});
