// The control socket's protocol: one JSON request line from `flotilla agent reconcile|status`, one JSON
// answer line from the daemon's supervisor. Both ends are Flotilla; the parse still refuses anything else.
import type { ReasonName } from '../status/conditions.js';

/** A request to the running agent. */
export type ControlRequest = { op: 'reconcile' } | { op: 'status' };

/** One set's line of a tick's result (the TickReport's outcomes, trimmed to what an operator reads). */
export interface TickSetResult {
  set: string;
  result: string;
  reason: ReasonName;
  message: string;
  generation: number | null;
}

/** A finished full tick as the supervisor saw it. */
export interface TickSummary {
  exitCode: 0 | 1 | 3;
  commit: string | null;
  startedAt: string;
  finishedAt: string;
  /** What asked for it: start, cron, watch, webhook, reconcile. */
  triggers: string[];
  error?: { code: string; message: string };
  sets: TickSetResult[];
}

/** What the running daemon knows beyond the state dir. */
export interface LiveAgentStatus {
  pid: number;
  version: string;
  machine: string;
  /** ISO instant of the next poll, or null when the schedule gives none (a cron schedule in a local zone). */
  nextPoll: string | null;
  /** The poll rule: `every 1m` or the cron expression. */
  poll: string;
  tickRunning: boolean;
  tickRunningSince: string | null;
  /** The last full tick (null before the first one ends). */
  lastTick: TickSummary | null;
  /** The last poll answered without a tick (the branch head had not moved), if later than lastTick. */
  lastSkippedPoll: string | null;
}

/** The daemon's answer. */
export type ControlResponse =
  | { ok: true; op: 'reconcile'; tick: TickSummary }
  | { ok: true; op: 'status'; status: LiveAgentStatus }
  | { ok: false; error: { code: string; message: string } };

/** The longest request line the server reads: requests are a few bytes. */
export const MAX_CONTROL_REQUEST_BYTES = 1024;

/** Parses a request line; undefined for anything that is not one of the requests above. */
export function parseControlRequest(line: string): ControlRequest | undefined {
  try {
    const v = JSON.parse(line) as { op?: unknown };
    if (v.op === 'reconcile' || v.op === 'status') return { op: v.op };
  } catch {
    // Not JSON: refused below.
  }
  return undefined;
}

/** Parses the daemon's answer; undefined when it is not one. */
export function parseControlResponse(line: string): ControlResponse | undefined {
  try {
    const v = JSON.parse(line) as Record<string, unknown>;
    if (v['ok'] === false && typeof v['error'] === 'object' && v['error'] !== null) return v as ControlResponse;
    if (v['ok'] === true && (v['op'] === 'reconcile' || v['op'] === 'status')) return v as ControlResponse;
  } catch {
    // Not JSON: the caller reports it.
  }
  return undefined;
}
