// Turning a tick's report into metrics. Light on purpose: the daemon's supervisor runs it on the reports
// its tick worker sends, and must not load the reconcile code to do so.
import type { TickReport } from '../reconcile/tick.js';
import type { AgentMetrics, TickResult } from './agent-metrics.js';

/** Digests marked bad, per set, as read from each set's state.json after a tick. */
export type BadDigestsBySet = Record<string, string[]>;

/** The metrics result class of a tick (mirrors the `--once` exit classes, with rolled_back apart). */
export function metricResult(report: Pick<TickReport, 'outcomes' | 'exitCode'>): TickResult {
  if (report.outcomes.some((o) => o.result === 'rolled-back')) return 'rolled_back';
  if (report.exitCode === 1) return 'failed';
  if (report.exitCode === 3) return 'waiting';
  return report.outcomes.some((o) => o.result === 'converged') ? 'converged' : 'noop';
}

/** Records one finished tick: time and result, step durations, bytes fetched, current generation and bad digests per set. */
export function recordTickMetrics(metrics: AgentMetrics, report: TickReport, bad: BadDigestsBySet): void {
  metrics.recordTick({ startedAtMs: Date.parse(report.startedAt), finishedAtMs: Date.parse(report.finishedAt), result: metricResult(report) });
  for (const t of report.timings) metrics.observeStep(t.step, t.ms / 1000);
  if (report.bytesFetched > 0) metrics.addFetchedBytes(report.bytesFetched);
  for (const o of report.outcomes) {
    if (o.generation !== null && o.current !== null) metrics.setCurrentGeneration(o.set, o.generation, o.current);
  }
  for (const [set, digests] of Object.entries(bad)) metrics.setBadDigests(set, digests);
}
