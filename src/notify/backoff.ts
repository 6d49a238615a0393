/** After this long an undelivered notification is given up (logged as an error). */
export const GIVE_UP_AFTER_MS = 24 * 3600_000;

const FIRST_MS = 1000;
const MAX_MS = 5 * 60_000;

/**
 * The wait before attempt `attempts + 1`: 1 s, 2 s, 4 s ... capped at 5 min, each shortened by up to a
 * quarter at random (`random` in [0, 1)) so many machines retrying one receiver spread out.
 */
export function backoffMs(attempts: number, random: () => number): number {
  const base = Math.min(MAX_MS, FIRST_MS * 2 ** Math.max(0, Math.min(attempts - 1, 20)));
  return Math.round(base * (1 - random() / 4));
}
