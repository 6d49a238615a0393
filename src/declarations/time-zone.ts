/** True when `tz` is an IANA time zone this Node (ICU) knows. */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Minutes to add to UTC to get local time in `tz` at `instant` (e.g. +60 for Europe/Berlin in winter). */
export function timeZoneOffsetMinutes(tz: string, instant: Date): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(instant);
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'));
  const utc = Math.floor(instant.getTime() / 60_000) * 60_000;
  return Math.round((local - utc) / 60_000);
}
