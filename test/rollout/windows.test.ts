import { describe, expect, it } from 'vitest';
import type { MaintenanceWindow, Weekday } from '../../src/declarations/types.js';
import { evaluateWindows } from '../../src/rollout/windows.js';

const at = (iso: string): Date => new Date(iso);
/** A normalised window, written the way a reader thinks of it: local "HH:MM" and minutes. */
const win = (days: Weekday[], start: string, minutes: number, timeZone: string, deny = false): MaintenanceWindow => ({
  days,
  startMinute: Number(start.slice(0, 2)) * 60 + Number(start.slice(3)),
  durationMs: minutes * 60_000,
  timeZone,
  deny,
});

describe('maintenance windows', () => {
  const berlinNight: MaintenanceWindow = win(['tue', 'wed'], '02:00', 120, 'Europe/Berlin');

  const table: Array<{ name: string; windows: MaintenanceWindow[]; now: string; open: boolean; next?: string | null; override?: boolean }> = [
    { name: 'no windows: always open', windows: [], now: '2026-01-06T12:00:00Z', open: true },
    { name: 'inside a Berlin window in winter (CET, UTC+1)', windows: [berlinNight], now: '2026-01-06T01:30:00Z', open: true },
    { name: 'before it: next opening is 01:00Z', windows: [berlinNight], now: '2026-01-06T00:30:00Z', open: false, next: '2026-01-06T01:00:00.000Z' },
    { name: 'end is exclusive', windows: [berlinNight], now: '2026-01-06T03:00:00Z', open: false, next: '2026-01-07T01:00:00.000Z' },
    { name: 'same window in summer (CEST, UTC+2)', windows: [berlinNight], now: '2026-07-07T00:30:00Z', open: true },
    { name: 'wrong weekday (Monday): next is Tuesday', windows: [berlinNight], now: '2026-01-05T01:30:00Z', open: false, next: '2026-01-06T01:00:00.000Z' },
    {
      name: 'window across midnight keeps its day',
      windows: [win(['fri'], '23:00', 180, 'America/New_York')],
      now: '2026-01-10T06:30:00Z', // Sat 01:30 New York (EST)
      open: true,
    },
    {
      name: 'Tokyo window (no DST)',
      windows: [win(['mon'], '09:00', 60, 'Asia/Tokyo')],
      now: '2026-01-05T00:30:00Z',
      open: true,
    },
    {
      name: 'deny beats allow',
      windows: [berlinNight, win(['tue'], '02:30', 30, 'Europe/Berlin', true)],
      now: '2026-01-06T01:40:00Z',
      open: false,
      next: '2026-01-06T02:00:00.000Z',
    },
    {
      name: 'deny only: open outside it',
      windows: [win(['sat', 'sun'], '00:00', 1440, 'UTC', true)],
      now: '2026-01-10T10:00:00Z',
      open: false,
      next: '2026-01-12T00:00:00.000Z',
    },
    {
      name: 'deny covering every allow: never within a week',
      windows: [win(['mon'], '10:00', 60, 'UTC'), win(['mon'], '09:00', 180, 'UTC', true)],
      now: '2026-01-05T10:30:00Z',
      open: false,
      next: null,
    },
    { name: 'override opens a closed window', windows: [berlinNight], now: '2026-01-05T12:00:00Z', open: true, override: true },
  ];
  for (const t of table) {
    it(t.name, () => {
      const v = evaluateWindows(t.windows, at(t.now), t.override === true);
      expect(v.open).toBe(t.open);
      if (t.next !== undefined) expect(v.nextOpen === null ? null : v.nextOpen.toISOString()).toBe(t.next);
    });
  }

  it('a window across the spring-forward change lasts its real duration', () => {
    // Europe/Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST. A window 01:00 local for 180 min opens at
    // 00:00Z and closes at 03:00Z (05:00 CEST local), not at 04:00 local.
    const w: MaintenanceWindow = win(['sun'], '01:00', 180, 'Europe/Berlin');
    expect(evaluateWindows([w], at('2026-03-29T00:00:00Z')).open).toBe(true);
    expect(evaluateWindows([w], at('2026-03-29T02:59:00Z')).open).toBe(true);
    expect(evaluateWindows([w], at('2026-03-29T03:00:00Z')).open).toBe(false);
  });

  it('a start inside the spring-forward gap is shifted by the gap', () => {
    const w: MaintenanceWindow = win(['sun'], '02:30', 30, 'Europe/Berlin');
    const v = evaluateWindows([w], at('2026-03-28T12:00:00Z'));
    expect(v.nextOpen?.toISOString()).toBe('2026-03-29T01:30:00.000Z'); // 03:30 CEST
  });

  it('a start inside the fall-back overlap opens at the first of the two instants', () => {
    const w: MaintenanceWindow = win(['sun'], '02:30', 30, 'Europe/Berlin');
    const v = evaluateWindows([w], at('2026-10-24T12:00:00Z'));
    expect(v.nextOpen?.toISOString()).toBe('2026-10-25T00:30:00.000Z'); // 02:30 CEST
  });

  it('a US window after the DST change moves in UTC, not in local time', () => {
    const w: MaintenanceWindow = win(['mon'], '09:00', 60, 'America/Los_Angeles');
    expect(evaluateWindows([w], at('2026-03-02T17:30:00Z')).open).toBe(true); // PST: 09:00 = 17:00Z
    expect(evaluateWindows([w], at('2026-03-09T17:30:00Z')).open).toBe(false); // PDT: 09:00 = 16:00Z
    expect(evaluateWindows([w], at('2026-03-09T16:30:00Z')).open).toBe(true);
  });
});
