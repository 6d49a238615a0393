// Cron matching in UTC with plain Date arithmetic. node-cron reads every firing through
// Intl.DateTimeFormat, which pulls ICU's code and data into memory (about 7 MB of the daemon's resident
// set); for the default time zone, UTC, the daemon's supervisor uses this instead and never touches Intl.
import { parse } from 'node-cron';

/** A schedule whose every field is a plain list of values (no L, W or # tokens). */
export interface UtcSchedule {
  seconds: number[];
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
}

/** True for the zone names that are UTC itself (no offset, no daylight saving). */
export function isUtcZone(zone: string | undefined): boolean {
  return zone === 'UTC' || zone === 'Etc/UTC';
}

function numbers(field: unknown): number[] | undefined {
  if (!Array.isArray(field) || field.length === 0 || !field.every((v): v is number => typeof v === 'number' && Number.isInteger(v))) return undefined;
  return field;
}

/**
 * Compiles a node-cron expression (5 or 6 fields, as node-cron parses it) for UTC matching. Returns
 * undefined when a field uses a token that needs node-cron's own matcher (L, W, #); throws node-cron's
 * error for an invalid expression (callers validate first).
 */
export function compileUtcSchedule(expression: string): UtcSchedule | undefined {
  const f = parse(expression) as unknown as Record<string, unknown>;
  const [s, mi, h, d, mo, w] = [f['second'], f['minute'], f['hour'], f['dayOfMonth'], f['month'], f['dayOfWeek']].map(numbers);
  if (!s || !mi || !h || !d || !mo || !w) return undefined;
  return {
    seconds: [...new Set(s)].sort((a, b) => a - b),
    minutes: new Set(mi),
    hours: new Set(h),
    days: new Set(d),
    months: new Set(mo),
    // Sunday may be written 0 or 7.
    weekdays: new Set(w.map((x) => x % 7)),
  };
}

const DAY_MS = 86_400_000;
/** How far ahead to look: a Feb 29 schedule on the right weekday can be decades away; give up at 8 years. */
const HORIZON_MS = 8 * 366 * DAY_MS;

/**
 * The first whole second strictly after `afterMs` (epoch ms) that matches `s` in UTC, or undefined when
 * none comes within 8 years. Day of month and day of week must both match, as node-cron v4 has it.
 */
export function nextUtcMatch(s: UtcSchedule, afterMs: number): number | undefined {
  const from = Math.floor(afterMs / 1000) * 1000 + 1000;
  let t = from - (from % 60_000);
  const end = from + HORIZON_MS;
  while (t < end) {
    const d = new Date(t);
    if (!s.months.has(d.getUTCMonth() + 1) || !s.days.has(d.getUTCDate()) || !s.weekdays.has(d.getUTCDay())) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
      continue;
    }
    if (!s.hours.has(d.getUTCHours())) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
      continue;
    }
    if (s.minutes.has(d.getUTCMinutes())) {
      for (const sec of s.seconds) if (t + sec * 1000 >= from) return t + sec * 1000;
    }
    t += 60_000;
  }
  return undefined;
}
