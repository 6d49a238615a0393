import { readDuration } from '../util/duration.js';
import { UsageError } from '../errors/index.js';

/**
 * Parses the duration given to a CLI option (`name` like `--older-than`) by the one grammar of
 * src/util/duration.ts, or returns `fallback` when the option is absent. Anything else, a bare
 * number included, is a UsageError naming the option and the value: never a silent default.
 */
export function durationOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const r = readDuration(value);
  if (!r.ok) throw new UsageError(`${name}: ${r.problem}`, { option: name, value });
  return r.ms;
}
