import type { SingleFlightState } from './single-flight.js';

/** The /healthz answer: HTTP status and JSON body. */
export interface HealthzReport {
  status: 200 | 503;
  body: {
    ok: boolean;
    /** Why ok is false: "wedged" (a tick runs past the limit) or "stopping". */
    reason?: 'wedged' | 'stopping';
    lastTick: { startedAt: string | null; finishedAt: string | null; ok: boolean | null };
    running: boolean;
    runningForMs: number | null;
    ticks: number;
  };
}

/** Default limit after which a running tick means the agent is wedged: 15 minutes. */
export const DEFAULT_WEDGED_AFTER_MS = 15 * 60 * 1000;

/**
 * Builds the /healthz report from the queue's state. The agent is *wedged* (503) when one tick has been
 * running for more than `wedgedAfterMs` — longer than any bounded step (fetch deadlines, activation and
 * health timeouts) should allow — and *stopping* (503) after SIGTERM. A failed last tick is still 200:
 * the agent is alive and reporting; the failure is in /metrics and the status files.
 */
export function reportHealthz(state: SingleFlightState, now: number, wedgedAfterMs = DEFAULT_WEDGED_AFTER_MS): HealthzReport {
  const runningForMs = state.runningSince === null ? null : Math.max(0, now - state.runningSince);
  const wedged = runningForMs !== null && runningForMs > wedgedAfterMs;
  const reason = state.stopped ? 'stopping' : wedged ? 'wedged' : undefined;
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    status: reason === undefined ? 200 : 503,
    body: {
      ok: reason === undefined,
      ...(reason === undefined ? {} : { reason }),
      lastTick: { startedAt: iso(state.lastStartedAt), finishedAt: iso(state.lastFinishedAt), ok: state.lastOk },
      running: state.running,
      runningForMs,
      ticks: state.ticks,
    },
  };
}
