// Building an Intl.DateTimeFormat costs far more than using one: keep one per zone (a handful per repo).
const formatters = new Map<string, Intl.DateTimeFormat | null>();

function formatterFor(tz: string): Intl.DateTimeFormat | null {
  let f = formatters.get(tz);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
    } catch {
      f = null;
    }
    if (formatters.size < 1000) formatters.set(tz, f);
  }
  return f;
}

/** True when `tz` is an IANA time zone this Node (ICU) knows. */
export function isValidTimeZone(tz: string): boolean {
  return formatterFor(tz) !== null;
}

/** Minutes to add to UTC to get local time in `tz` at `instant` (e.g. +60 for Europe/Berlin in winter). Throws RangeError for an unknown zone. */
export function timeZoneOffsetMinutes(tz: string, instant: Date): number {
  const f = formatterFor(tz);
  if (f === null) throw new RangeError(`unknown time zone ${JSON.stringify(tz)}`);
  const parts = f.formatToParts(instant);
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'));
  const utc = Math.floor(instant.getTime() / 60_000) * 60_000;
  return Math.round((local - utc) / 60_000);
}
