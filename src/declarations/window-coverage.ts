import type { MaintenanceWindow } from './types.js';

const WEEK_MINUTES = 7 * 24 * 60;
const DAY_INDEX = { mon: 0, tue: 1, wed: 2, thu: 3, fri: 4, sat: 5, sun: 6 } as const;

function mark(week: Uint8Array, w: MaintenanceWindow, offsetMinutes: number, value: 0 | 1, round: (x: number) => number): void {
  const length = Math.min(round(w.durationMs / 60_000), WEEK_MINUTES);
  for (const day of w.days) {
    const start = DAY_INDEX[day] * 1440 + w.startMinute - offsetMinutes;
    for (let i = 0; i < length; i++) week[(((start + i) % WEEK_MINUTES) + WEEK_MINUTES) % WEEK_MINUTES] = value;
  }
}

/**
 * True when the windows leave at least one minute of the week open: inside some allow window (or anywhere,
 * when there are only deny windows) and outside every deny window. Each window is placed on a common
 * clock using `offsetOf(timeZone)`; allow lengths round up and deny lengths round down, so an uncertain
 * case counts as open (the rule must never refuse a window that does open).
 */
export function windowsEverOpen(windows: readonly MaintenanceWindow[], offsetOf: (tz: string) => number): boolean {
  const allows = windows.filter((w) => !w.deny);
  const week = new Uint8Array(WEEK_MINUTES).fill(allows.length === 0 ? 1 : 0);
  for (const w of allows) mark(week, w, offsetOf(w.timeZone), 1, Math.ceil);
  for (const w of windows.filter((x) => x.deny)) mark(week, w, offsetOf(w.timeZone), 0, Math.floor);
  return week.includes(1);
}
