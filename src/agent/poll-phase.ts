import { createHash } from 'node:crypto';

/**
 * This machine's offset within the poll interval: a hash of its name, so the machines of a fleet poll at
 * evenly spread moments (1,000 machines on a 30 s interval: about 33 a second) instead of all at second 0
 * and 30, and a machine keeps its moment across restarts. Never changes for a given name and interval.
 */
export function pollOffsetMs(machine: string, intervalMs: number): number {
  const h = createHash('sha256').update(machine).digest();
  // 48 bits of the hash: uniform enough for any interval up to days, and exact in a double.
  return h.readUIntBE(0, 6) % intervalMs;
}

/**
 * The first moment strictly after `nowMs` (epoch milliseconds) whose distance from `offsetMs` is a whole
 * number of intervals: polls land on the same phase of the interval on every machine's wall clock.
 */
export function nextPollAt(nowMs: number, intervalMs: number, offsetMs: number): number {
  const base = Math.floor((nowMs - offsetMs) / intervalMs) * intervalMs + offsetMs;
  return base > nowMs ? base : base + intervalMs;
}
