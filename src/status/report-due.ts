import type { MachineStatus } from './machine-status.js';
import { DEFAULT_STALE_AFTER_MS } from './readiness.js';

/**
 * How often an unchanged report is written again. Readers judge a machine stale after
 * DEFAULT_STALE_AFTER_MS without a report, so a live machine must refresh well within that; between
 * refreshes an agent polling every second would otherwise rewrite (and fsync) the same file every second.
 */
export const STATUS_HEARTBEAT_MS = Math.min(60_000, DEFAULT_STALE_AFTER_MS / 5);

/**
 * True when `next` must be written: nothing was written yet, something besides its time changed, or the
 * last write is at least `heartbeatMs` old.
 */
export function reportDue(last: MachineStatus | undefined, next: MachineStatus, heartbeatMs: number): boolean {
  if (last === undefined) return true;
  if (Date.parse(next.reportedAt) - Date.parse(last.reportedAt) >= heartbeatMs) return true;
  return JSON.stringify({ ...last, reportedAt: '' }) !== JSON.stringify({ ...next, reportedAt: '' });
}
