// When the supervisor's last tick counts as settled, and when its tick worker may retire. Pure: the
// supervisor passes the clock reading; tests pass a fake one. The cheap-poll rule is in cheap-poll.ts.
import type { TickReport } from '../reconcile/tick.js';

/** What the supervisor remembers of the last full tick. */
export interface LastTick {
  exitCode: 0 | 1 | 3;
  commit: string | null;
  finishedAtMs: number;
  /** The same commit would give the same outcome: converged/unchanged, or failed only on stalls. */
  settled: boolean;
  /** When the repo's signed `expires` passes (epoch ms), or null: from then on the same commit is stale. */
  expiresAtMs: number | null;
  /** TickReport.heartbeatFrom (epoch ms): the next heartbeat is due a statusHeartbeat after it; null without one. */
  heartbeatFromMs: number | null;
}

/**
 * True when rerunning the tick on the same commit cannot change anything without a human: exit 0, or exit 1
 * where no repo-level error occurred and every set that did not end Ready is stalled (rolled back, or a
 * digest remembered as bad: "not retried until the desired digest changes or `flotilla clear`"; a platform
 * mismatch). Without this, a machine holding a bad digest would start a worker on every poll. A transient
 * failure (network, store: not stalled) or a repo-level error is not settled: every poll retries it.
 */
export function isSettled(report: Pick<TickReport, 'exitCode' | 'error' | 'outcomes'>): boolean {
  if (report.exitCode === 0) return true;
  if (report.exitCode !== 1 || report.error !== undefined) return false;
  return report.outcomes.every((o) => o.result === 'unchanged' || o.result === 'converged' || ((o.result === 'failed' || o.result === 'rolled-back') && o.stalled));
}

/** Summarises a report for the policy below. */
export function lastTickOf(report: Pick<TickReport, 'exitCode' | 'error' | 'outcomes' | 'commit' | 'repoExpiresAt' | 'heartbeatFrom'>, finishedAtMs: number): LastTick {
  const expiresAtMs = report.repoExpiresAt === undefined ? null : Date.parse(report.repoExpiresAt);
  const heartbeatFromMs = report.heartbeatFrom === undefined ? null : Date.parse(report.heartbeatFrom);
  return { exitCode: report.exitCode, commit: report.commit, finishedAtMs, settled: isSettled(report), expiresAtMs, heartbeatFromMs };
}

/**
 * How long after the last tick the worker may be retired, or null to keep it: a tick waiting on a gate,
 * a slot or a window (exit 3) keeps its lease observer and staged closures warm; a worker whose activation
 * left a background process on its output pipes (`pinned`) must outlive that process.
 */
export function retireAfterMs(last: LastTick | undefined, keepWarmMs: number, pinned: boolean): number | null {
  if (last === undefined || last.exitCode === 3 || pinned) return null;
  return Math.max(0, keepWarmMs);
}
