import type { AgentConfig } from '../declarations/types.js';
import { FLOTILLA_VERSION } from '../util/version.js';
import type { ControlRequest, ControlResponse, TickSummary } from './control-protocol.js';
import { describeNextPoll } from './next-poll.js';
import type { SingleFlight } from './single-flight.js';

/** What the supervisor's ticks resolve with: a full tick's summary, or a poll answered without a tick. */
export type SupervisedTick = { skipped: true; commit: string | null } | { skipped: false; exitCode: 0 | 1 | 3; commit: string | null; summary: TickSummary };

/** What the control service reads from the supervisor: the queue, the config, and what the last ticks left. */
export interface ControlServiceInput {
  config: AgentConfig;
  queue: SingleFlight;
  lastTick: () => TickSummary | null;
  lastSkippedPoll: () => string | null;
  now?: () => number;
}

function failure(code: string, message: string): ControlResponse {
  return { ok: false, error: { code, message } };
}

/**
 * Answers control requests. `reconcile` asks the single-flight queue for a tick (a request during a tick
 * gets the tick that starts after it, so the answer reflects the repo as it was when asked) and answers when
 * that tick ends, with its summary. `status` answers at once. Never rejects.
 */
export function createControlService(input: ControlServiceInput): (request: ControlRequest) => Promise<ControlResponse> {
  const now = input.now ?? Date.now;
  return async (request) => {
    if (request.op === 'status') {
      const state = input.queue.state();
      const last = input.lastTick();
      const skipped = input.lastSkippedPoll();
      return {
        ok: true,
        op: 'status',
        status: {
          pid: process.pid,
          version: FLOTILLA_VERSION,
          machine: input.config.machine,
          ...describeNextPoll(input.config, now()),
          tickRunning: state.running,
          tickRunningSince: state.runningSince === null ? null : new Date(state.runningSince).toISOString(),
          lastTick: last,
          lastSkippedPoll: skipped !== null && (last === null || skipped > last.finishedAt) ? skipped : null,
        },
      };
    }
    const outcome = await input.queue.request('reconcile');
    if (!outcome.ran) return failure('StateError', 'the agent is stopping; no tick was run');
    if (!outcome.ok) {
      const err = outcome.error as { code?: unknown; message?: unknown };
      return failure(typeof err.code === 'string' ? err.code : 'InternalError', typeof err.message === 'string' ? err.message : String(outcome.error));
    }
    const tick = outcome.value as SupervisedTick;
    // A reconcile request is never answered by the cheap poll; the guard keeps the answer honest if it were.
    if (tick.skipped) return failure('InternalError', `the tick was skipped (branch head ${tick.commit ?? 'unknown'} unchanged)`);
    return { ok: true, op: 'reconcile', tick: tick.summary };
  };
}
