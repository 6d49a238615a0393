import { describe, expect, it } from 'vitest';
import { startIntervalTrigger } from '../../src/agent/interval-trigger.js';
import { nextPollAt, pollOffsetMs } from '../../src/agent/poll-phase.js';
import type { RequestOutcome } from '../../src/agent/single-flight.js';

describe('each machine polls at its own moment of the interval', () => {
  it('spreads 10,000 machines evenly over a 30 s interval: no second holds more than 1.3x the mean', () => {
    const perSecond = new Array<number>(30).fill(0);
    for (let i = 0; i < 10_000; i++) perSecond[Math.floor(pollOffsetMs(`web-${i}`, 30_000) / 1000)]! += 1;
    const mean = 10_000 / 30;
    expect(Math.max(...perSecond)).toBeLessThan(1.3 * mean);
    expect(Math.min(...perSecond)).toBeGreaterThan(0.7 * mean);
  });

  it('gives a machine the same offset every time, within the interval', () => {
    expect(pollOffsetMs('web-1', 30_000)).toBe(pollOffsetMs('web-1', 30_000));
    expect(pollOffsetMs('web-1', 30_000)).not.toBe(pollOffsetMs('web-2', 30_000));
    for (const name of ['a', 'b', 'web-1', 'db-9']) expect(pollOffsetMs(name, 7_000)).toBeLessThan(7_000);
  });

  it.each([
    // now, interval, offset → next
    [0, 30_000, 12_345, 12_345],
    [12_345, 30_000, 12_345, 42_345],
    [12_346, 30_000, 12_345, 42_345],
    [1_700_000_000_000, 30_000, 0, 1_700_000_010_000],
    [1_700_000_010_000, 30_000, 5, 1_700_000_010_005],
  ])('from %i with interval %i and offset %i, polls next at %i', (now, interval, offset, next) => {
    expect(nextPollAt(now, interval, offset)).toBe(next);
  });

  it('keeps firing once per interval until stopped, then never again', async () => {
    const asked: number[] = [];
    const interval = 200;
    const request = (): Promise<RequestOutcome> => {
      asked.push(Date.now());
      return Promise.resolve({ ran: false });
    };
    const stop = startIntervalTrigger({ intervalMs: interval, machine: 'm1', request });
    while (asked.length < 3) await new Promise((r) => setTimeout(r, 20));
    await stop();
    const count = asked.length;
    await new Promise((r) => setTimeout(r, 3 * interval));
    expect(asked.length).toBe(count);
  });
});
