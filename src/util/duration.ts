/**
 * The one duration grammar of Flotilla (YAML fields, agent config, CLI options): whole amounts with a unit,
 * largest unit first, each unit at most once: `500ms`, `30s`, `5m`, `1h30m`, `2d`, `1d2h3m4s5ms`.
 * `DURATION_PATTERN` is the same grammar as a regular expression; schemas/common.schema.json#/$defs/duration
 * carries it verbatim (a test holds the two together). Seven digits per amount keep every accepted value a
 * safe integer of milliseconds, so the schema alone decides what is valid.
 */
export const DURATION_PATTERN = '^(?=[0-9])(?:([0-9]{1,7})d)?(?:([0-9]{1,7})h)?(?:([0-9]{1,7})m)?(?:([0-9]{1,7})s)?(?:([0-9]{1,7})ms)?$';

/** Examples for messages, so every refusal shows the same ones. */
export const DURATION_EXAMPLES = '500ms, 30s, 5m, 1h30m or 2d';

const DURATION_RE = new RegExp(DURATION_PATTERN, 'u');
// Unit sizes in the capture-group order of DURATION_PATTERN: d, h, m, s, ms.
const UNIT_MS = [86_400_000, 3_600_000, 60_000, 1000, 1] as const;

/** What reading a duration found: milliseconds, or why the text is not a duration (for the caller's message). */
export type DurationReading = { ok: true; ms: number } | { ok: false; problem: string };

/** Reads `text` by the grammar above. Never throws; a bare number is refused with a hint to add a unit. */
export function readDuration(text: string): DurationReading {
  const m = DURATION_RE.exec(text);
  if (m) return { ok: true, ms: UNIT_MS.reduce((sum, size, i) => sum + Number(m[i + 1] ?? 0) * size, 0) };
  const quoted = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
  if (/^[0-9]+$/.test(text)) return { ok: false, problem: `${quoted} has no unit; write e.g. ${text}s or ${text}m (units: ms, s, m, h, d)` };
  return { ok: false, problem: `${quoted} is not a duration; write e.g. ${DURATION_EXAMPLES} (units ms, s, m, h, d, largest first, at most 7 digits each)` };
}

/** Parses a duration into milliseconds; undefined when `text` is not one (see readDuration for why). */
export function parseDuration(text: string): number | undefined {
  const r = readDuration(text);
  return r.ok ? r.ms : undefined;
}

/**
 * Parses a duration the schema has accepted; a missing value gives `fallback`. The schema carries the same
 * grammar, so an invalid value here is a bug: it throws rather than silently taking the default.
 */
export function durationOr(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const r = readDuration(text);
  if (!r.ok) throw new Error(`internal: a duration the schema accepted was refused: ${r.problem}`);
  return r.ms;
}

/** Renders milliseconds back as a compact duration ("1h30m", "250ms"), for messages; parseDuration reads it back below 10,000,000 days. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}
