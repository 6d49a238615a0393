/**
 * Maintenance windows: when a batch may start. Pure; the only inputs are the windows and an instant.
 *
 * A window is a weekly recurrence: on each listed day (in its own IANA time zone) it opens at the local
 * wall time `start` and stays open for `durationMinutes` of real elapsed time, so a window across a DST
 * change is still exactly that long. A start that falls in a spring-forward gap is shifted forward by the
 * gap (02:30 in a 02:00→03:00 gap opens at 03:30); a start in a fall-back overlap opens at the first of the
 * two instants.
 *
 * Rules: with no `allow` windows, time is open except inside `deny` windows; with allow windows, time is
 * open only inside one of them and outside every deny window (deny beats allow). `override` opens
 * everything (an emergency flag on the command line, never in the repo).
 */

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** One weekly window. `kind` defaults to allow. */
export interface MaintenanceWindow {
  kind?: 'allow' | 'deny';
  days: Weekday[];
  /** Local wall time "HH:MM", 24 h. */
  start: string;
  durationMinutes: number;
  /** IANA zone, e.g. "Europe/Berlin"; "UTC" is fine. */
  timeZone: string;
}

/** Whether time is open at an instant, and if not, when it opens next (null: not within 8 days). */
export interface WindowVerdict {
  open: boolean;
  nextOpen: Date | null;
}

const START_RE = /^([01]\d|2[0-3]):([0-5]\d)$/;
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

/** Returns a list of problems with `w` (empty when valid): bad day, start, duration or unknown time zone. */
export function checkWindow(w: MaintenanceWindow): string[] {
  const problems: string[] = [];
  if (w.kind !== undefined && w.kind !== 'allow' && w.kind !== 'deny') problems.push(`kind must be allow or deny`);
  if (!Array.isArray(w.days) || w.days.length === 0 || w.days.some((d) => !WEEKDAYS.includes(d))) problems.push(`days must list some of ${WEEKDAYS.join(', ')}`);
  if (!START_RE.test(w.start)) problems.push(`start must be HH:MM (24 h), got ${JSON.stringify(w.start)}`);
  if (!Number.isInteger(w.durationMinutes) || w.durationMinutes < 1 || w.durationMinutes > 7 * 1440) problems.push('durationMinutes must be an integer from 1 to 10080');
  try {
    formatter(w.timeZone);
  } catch {
    problems.push(`unknown time zone ${JSON.stringify(w.timeZone)}`);
  }
  return problems;
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
  const m = START_RE.exec(w.start);
  if (!m) return [];
  const out: Array<[number, number]> = [];
  for (let k = -8; k <= 8; k++) {
    const day = localParts(from + k * DAY_MS, w.timeZone);
    if (!w.days.includes(day.weekday)) continue;
    const start = instantOf(day.y, day.mo, day.d, Number(m[1]), Number(m[2]), w.timeZone);
    out.push([start, start + w.durationMinutes * 60_000]);
  }
  return out;
}

function inside(list: Array<[number, number]>, t: number): boolean {
  return list.some(([s, e]) => s <= t && t < e);
}

/**
 * Decides whether a batch may start at `at` under `windows` (see the rules at the top of this file).
 * Pure; assumes windows passed `checkWindow`. `nextOpen` is the earliest open instant ≥ `at`, or null when
 * nothing opens within about a week (e.g. every allow window is covered by a deny window).
 */
export function evaluateWindows(windows: readonly MaintenanceWindow[], at: Date, override = false): WindowVerdict {
  const t = at.getTime();
  if (override || windows.length === 0) return { open: true, nextOpen: at };
  const allow = windows.filter((w) => (w.kind ?? 'allow') === 'allow').flatMap((w) => occurrences(w, t));
  const deny = windows.filter((w) => w.kind === 'deny').flatMap((w) => occurrences(w, t));
  const hasAllow = windows.some((w) => (w.kind ?? 'allow') === 'allow');
  const openAt = (x: number): boolean => !inside(deny, x) && (!hasAllow || inside(allow, x));
  if (openAt(t)) return { open: true, nextOpen: at };
  const candidates = [...allow.map(([s]) => s), ...deny.map(([, e]) => e)].filter((x) => x > t && x <= t + 7 * DAY_MS).sort((a, b) => a - b);
  const next = candidates.find(openAt);
  return { open: false, nextOpen: next === undefined ? null : new Date(next) };
}
