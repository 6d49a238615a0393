import type { TickReport } from '../reconcile/tick.js';
import type { TickSummary } from './control-protocol.js';

/** What an operator reads of a tick report (control socket, webhook with ?wait): exit code, commit, each set's result. Pure. */
export function summarizeTick(report: TickReport, triggers: readonly string[]): TickSummary {
  return {
    exitCode: report.exitCode,
    commit: report.commit,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    triggers: [...triggers],
    ...(report.error ? { error: report.error } : {}),
    sets: report.outcomes.map((o) => ({ set: o.set, result: o.result, reason: o.reason, message: o.message, generation: o.generation })),
  };
}
