const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /([0-9]+)(ms|s|m|h|d)/gy;

/**
 * Parses a duration such as "500ms", "30s", "5m", "1h30m", "2d" into milliseconds.
 * Returns undefined for anything else (the schema has already refused it in declarations).
 */
export function parseDuration(text: string): number | undefined {
  if (text === '') return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let end = 0;
  for (let m = PART.exec(text); m !== null; m = PART.exec(text)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? Number.NaN);
    end = PART.lastIndex;
  }
  return end === text.length && Number.isSafeInteger(total) ? total : undefined;
}

/** Parses a duration the schema has accepted; a missing value gives `fallback`. */
export function durationOr(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  return parseDuration(text) ?? fallback;
}

/** Renders milliseconds back as a compact duration ("1h30m", "250ms"), for messages. */
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
