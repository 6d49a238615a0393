import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { startCronTrigger } from '../../src/agent/cron-trigger.js';
import type { RequestOutcome } from '../../src/agent/single-flight.js';
import { compileUtcSchedule, isUtcZone, nextUtcMatch, type UtcSchedule } from '../../src/agent/utc-schedule.js';

const at = (iso: string): number => Date.parse(iso);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The oracle: walk second by second and test every field (slow, obviously right). */
function naiveNext(s: UtcSchedule, afterMs: number, limit = 3 * 86_400): number | undefined {
  let t = Math.floor(afterMs / 1000) * 1000 + 1000;
  for (let i = 0; i < limit; i++, t += 1000) {
    const d = new Date(t);
    if (s.seconds.includes(d.getUTCSeconds()) && s.minutes.has(d.getUTCMinutes()) && s.hours.has(d.getUTCHours()) && s.days.has(d.getUTCDate()) && s.months.has(d.getUTCMonth() + 1) && s.weekdays.has(d.getUTCDay())) return t;
  }
  return undefined;
}

describe('compileUtcSchedule', () => {
  it('compiles plain fields (5 or 6 of them) and leaves L, W and # to node-cron', () => {
    const s = compileUtcSchedule('*/30 * * * * *')!;
    expect(s.seconds).toEqual([0, 30]);
    expect(compileUtcSchedule('0 */12 * * mon-fri')!.weekdays).toEqual(new Set([1, 2, 3, 4, 5]));
    expect(compileUtcSchedule('0 0 0 * * 7')!.weekdays).toEqual(new Set([0]));
    expect(compileUtcSchedule('0 0 12 L * *')).toBeUndefined();
    expect(compileUtcSchedule('0 0 12 * * 1#2')).toBeUndefined();
    expect(() => compileUtcSchedule('61 * * * * *')).toThrow();
  });

  it('knows UTC by its names only', () => {
    expect(isUtcZone('UTC')).toBe(true);
    expect(isUtcZone('Etc/UTC')).toBe(true);
    expect(isUtcZone('Europe/London')).toBe(false);
    expect(isUtcZone(undefined)).toBe(false);
  });
});

describe('nextUtcMatch', () => {
  const table: Array<[string, string, string | undefined]> = [
    ['*/30 * * * * *', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:30.000Z'],
    ['*/30 * * * * *', '2026-01-01T00:00:29.999Z', '2026-01-01T00:00:30.000Z'],
    ['*/30 * * * * *', '2026-01-01T00:00:30.000Z', '2026-01-01T00:01:00.000Z'],
    ['* * * * * *', '2026-01-01T00:00:00.500Z', '2026-01-01T00:00:01.000Z'],
    ['0 0 */12 * * *', '2026-01-01T00:00:00.000Z', '2026-01-01T12:00:00.000Z'],
    ['0 0 */12 * * *', '2026-12-31T23:59:59.000Z', '2027-01-01T00:00:00.000Z'],
    ['0 30 9 * * mon', '2026-01-01T00:00:00.000Z', '2026-01-05T09:30:00.000Z'],
    ['0 0 0 29 2 *', '2026-03-01T00:00:00.000Z', '2028-02-29T00:00:00.000Z'],
    // Day of month AND day of week (node-cron v4): the next Friday the 13th.
    ['0 0 0 13 * fri', '2026-01-01T00:00:00.000Z', '2026-02-13T00:00:00.000Z'],
    // Feb 29 on a Monday: next in 2044, beyond the 8-year horizon.
    ['0 0 0 29 2 mon', '2026-01-01T00:00:00.000Z', undefined],
  ];
  for (const [expr, after, want] of table) {
    it(`${expr} after ${after} → ${want ?? 'never'}`, () => {
      const next = nextUtcMatch(compileUtcSchedule(expr)!, at(after));
      expect(next === undefined ? undefined : new Date(next).toISOString()).toBe(want);
    });
  }

  it('agrees with a second-by-second walk on random schedules and times', () => {
    const field = (max: number, min = 0): fc.Arbitrary<string> =>
      fc.oneof(fc.constant('*'), fc.integer({ min: 1, max: Math.min(max, 20) }).map((n) => `*/${n}`), fc.integer({ min, max }).map(String), fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`));
    fc.assert(
      fc.property(fc.tuple(field(59), field(59), field(23), fc.constant('*'), fc.constant('*'), field(6)), fc.integer({ min: at('2025-01-01T00:00:00Z'), max: at('2030-01-01T00:00:00Z') }), (fields, t) => {
        const s = compileUtcSchedule(fields.join(' '));
        if (s === undefined) return;
        const want = naiveNext(s, t, 8 * 86_400);
        const got = nextUtcMatch(s, t);
        if (want !== undefined) expect(got).toBe(want);
        else expect(got === undefined || got > t + 8 * 86_400_000).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('cron trigger on a UTC schedule (no Intl)', () => {
  it('fires every second with jitter, skips firings while a tick runs, and stops cleanly', async () => {
    const reasons: string[] = [];
    let release: (o: RequestOutcome) => void = () => undefined;
    let hold = false;
    const stop = startCronTrigger({
      schedule: '* * * * * *',
      timezone: 'UTC',
      maxRandomDelayMs: 100,
      request: (reason) => {
        reasons.push(reason);
        if (!hold) return Promise.resolve({ ran: true, ok: true, value: undefined });
        return new Promise((r) => (release = r));
      },
    });
    for (let i = 0; i < 200 && reasons.length < 2; i++) await sleep(20);
    expect(reasons).toEqual(['cron', 'cron']);
    hold = true;
    const held = reasons.length;
    for (let i = 0; i < 200 && reasons.length === held; i++) await sleep(20);
    // One request is now outstanding: the next firings are skipped until it resolves.
    await sleep(2500);
    expect(reasons.length).toBe(held + 1);
    hold = false;
    release({ ran: true, ok: true, value: undefined });
    for (let i = 0; i < 200 && reasons.length === held + 1; i++) await sleep(20);
    expect(reasons.length).toBe(held + 2);
    await stop();
    const seen = reasons.length;
    await sleep(1500);
    expect(reasons.length).toBe(seen);
  });
});
