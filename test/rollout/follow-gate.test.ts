import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/rollout/clock.js';
import { followGate } from '../../src/rollout/follow-gate.js';

type D = { allowed: boolean; retryAfterMs?: number; n: number };

/** A decide port answering from a script, counting calls. */
function scripted(answers: Array<Omit<D, 'n'>>): { decide: () => Promise<D>; calls: () => number } {
  let i = 0;
  return {
    decide: () => Promise.resolve({ ...(answers[Math.min(i, answers.length - 1)] as Omit<D, 'n'>), n: i++ }),
    calls: () => i,
  };
}

describe('followGate', () => {
  it('decides again after retryAfterMs and returns the first go', async () => {
    const s = scripted([{ allowed: false, retryAfterMs: 20 }, { allowed: false, retryAfterMs: 20 }, { allowed: true }]);
    const d = await followGate(s.decide, { clock: systemClock, windowMs: 1_000 });
    expect(d).toEqual({ allowed: true, n: 2 });
  });

  it('ends at once on a wait without retryAfterMs, or one longer than the window', async () => {
    const none = scripted([{ allowed: false }]);
    expect((await followGate(none.decide, { clock: systemClock, windowMs: 1_000 })).n).toBe(0);
    const long = scripted([{ allowed: false, retryAfterMs: 5_000 }]);
    expect((await followGate(long.decide, { clock: systemClock, windowMs: 1_000 })).n).toBe(0);
  });

  it('stops following when the window is spent, with the last answer', async () => {
    const s = scripted([{ allowed: false, retryAfterMs: 30 }]);
    const d = await followGate(s.decide, { clock: systemClock, windowMs: 100 });
    expect(d.allowed).toBe(false);
    expect(s.calls()).toBeGreaterThanOrEqual(2);
    expect(s.calls()).toBeLessThanOrEqual(4);
  });

  it('an abort ends the wait', async () => {
    const ac = new AbortController();
    const s = scripted([{ allowed: false, retryAfterMs: 10_000 }]);
    const p = followGate(s.decide, { clock: systemClock, signal: ac.signal, windowMs: 60_000 });
    setTimeout(() => ac.abort(), 20);
    expect((await p).allowed).toBe(false);
    expect(s.calls()).toBe(1);
  });
});
