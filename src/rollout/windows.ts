import type { MaintenanceWindow, Weekday } from '../declarations/types.js';

/**
 * Maintenance windows: when a batch may start. Pure; the only inputs are the windows and an instant.
 *
 * A window is a weekly recurrence: on each listed day (in its own IANA time zone) it opens at the local
 * wall time `startMinute` and stays open for `durationMs` of real elapsed time, so a window across a DST
 * change is still exactly that long. A start that falls in a spring-forward gap is shifted forward by the
 * gap (02:30 in a 02:00→03:00 gap opens at 03:30); a start in a fall-back overlap opens at the first of the
 * two instants.
 *
 * Rules: with no allow windows, time is open except inside `deny` windows; with allow windows, time is
 * open only inside one of them and outside every deny window (deny beats allow). `override` opens
 * everything (an emergency flag on the command line, never in the repo).
 */

/** Whether time is open at an instant, and if not, when it opens next (null: not within 8 days). */
export interface WindowVerdict {
  open: boolean;
  nextOpen: Date | null;
}

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

interface LocalParts { y: number; mo: number; d: number; h: number; mi: number; s: number; weekday: Weekday }

function localParts(t: number, timeZone: string): LocalParts {
  const parts = Object.fromEntries(formatter(timeZone).formatToParts(new Date(t)).map((p) => [p.type, p.value]));
  return {
    y: Number(parts['year']), mo: Number(parts['month']), d: Number(parts['day']),
    h: Number(parts['hour']), mi: Number(parts['minute']), s: Number(parts['second']),
    weekday: String(parts['weekday']).toLowerCase().slice(0, 3) as Weekday,
  };
}

/** Zone offset at instant t, in ms (local = utc + offset). */
function offsetAt(t: number, timeZone: string): number {
  const p = localParts(t, timeZone);
  const asUtc = Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s);
  return asUtc - Math.floor(t / 1000) * 1000;
}

/** The instant of local wall time (y, mo, d, h, mi) in `timeZone`; gap → after the gap, overlap → first. */
function instantOf(y: number, mo: number, d: number, h: number, mi: number, timeZone: string): number {
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  // Try both offsets around the wall time; keep the earliest candidate that maps back to the same wall time.
  const offsets = [offsetAt(wall - DAY_MS / 2, timeZone), offsetAt(wall + DAY_MS / 2, timeZone)];
  const exact = offsets.map((o) => wall - o).filter((t) => offsetAt(t, timeZone) + t === wall).sort((a, b) => a - b);
  if (exact[0] !== undefined) return exact[0];
  // In a gap the wall time does not exist: read it with the pre-gap offset, which lands the same distance
  // after the jump (02:30 in a 02:00→03:00 gap opens at 03:30), as Temporal's "compatible" does.
  return wall - offsets[0]!;
}

/** Every [start, end) occurrence of `w` whose local start day lies within [from - 8 d, from + 8 d]. */
function occurrences(w: MaintenanceWindow, from: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let k = -8; k <= 8; k++) {
    const day = localParts(from + k * DAY_MS, w.timeZone);
    if (!w.days.includes(day.weekday)) continue;
    const start = instantOf(day.y, day.mo, day.d, Math.floor(w.startMinute / 60), w.startMinute % 60, w.timeZone);
    out.push([start, start + w.durationMs]);
  }
  return out;
}

function inside(list: Array<[number, number]>, t: number): boolean {
  return list.some(([s, e]) => s <= t && t < e);
}

/**
 * Decides whether a batch may start at `at` under `windows` (see the rules at the top of this file).
 * Pure; assumes declarations checked the windows (known time zone, whole minutes from 1m to 7d). `nextOpen` is the earliest open instant ≥ `at`, or null when
 * nothing opens within about a week (e.g. every allow window is covered by a deny window).
 */
export function evaluateWindows(windows: readonly MaintenanceWindow[], at: Date, override = false): WindowVerdict {
  const t = at.getTime();
  if (override || windows.length === 0) return { open: true, nextOpen: at };
  const allow = windows.filter((w) => !w.deny).flatMap((w) => occurrences(w, t));
  const deny = windows.filter((w) => w.deny).flatMap((w) => occurrences(w, t));
  const hasAllow = windows.some((w) => !w.deny);
  const openAt = (x: number): boolean => !inside(deny, x) && (!hasAllow || inside(allow, x));
  if (openAt(t)) return { open: true, nextOpen: at };
  const candidates = [...allow.map(([s]) => s), ...deny.map(([, e]) => e)].filter((x) => x > t && x <= t + 7 * DAY_MS).sort((a, b) => a - b);
  const next = candidates.find(openAt);
  return { open: false, nextOpen: next === undefined ? null : new Date(next) };
}
