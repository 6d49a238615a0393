// Messages between the daemon's supervisor and its tick worker (child_process.fork IPC, JSON serialisation).
import type { AgentConfig } from '../declarations/types.js';
import type { TickReport } from '../reconcile/tick.js';
import type { AgentCarry } from './run-agent.js';
import type { BadDigestsBySet } from './tick-metrics.js';

/** An error crossing the process boundary: a FlotillaError's code, message and data. */
export interface WireError {
  code: string;
  message: string;
  data: Record<string, unknown>;
}

/** Supervisor → worker. */
export type ToWorker =
  /** First worker of a daemon: load and validate the config file (`shownFile` is the path as the user gave it). */
  | { type: 'init'; configPath: string; shownFile: string }
  /** Later workers: the config the first one loaded (the file is read once per daemon, as before the split). */
  | { type: 'init'; config: AgentConfig; carry?: AgentCarry }
  /** `knownHead`: the head a heartbeat poll read (the pointer unchanged): the tick need not ask git for it. */
  | { type: 'tick'; id: number; knownHead?: string }
  /** Abort the running tick's abortable steps, let it finish, reply, close, exit 0. */
  | { type: 'stop' };

/** A finished tick, with what the supervisor needs for metrics, the next worker and retirement. */
export interface TickReply {
  type: 'report';
  id: number;
  report: TickReport;
  badDigests: BadDigestsBySet;
  carry: AgentCarry;
  /** True while a process started by an activation still holds this worker's pipes (see pipe-holders.ts). */
  pinned: boolean;
}

/** Worker → supervisor. */
export type FromWorker =
  /** `version`: the worker's FLOTILLA_VERSION (files on disk may be newer than the running supervisor). */
  | { type: 'ready'; config: AgentConfig; version: string }
  /** The config or the agent could not be built; the worker exits 1 after sending it. */
  | { type: 'init-failed'; error: WireError }
  | TickReply
  | { type: 'tick-failed'; id: number; error: WireError };

/** Converts any thrown value to a WireError (a FlotillaError keeps its code and data). */
export function toWireError(err: unknown): WireError {
  if (err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && 'data' in err) {
    const e = err as Error & { code: string; data: Record<string, unknown> };
    return { code: e.code, message: e.message, data: e.data };
  }
  return { code: 'InternalError', message: err instanceof Error ? err.message : String(err), data: {} };
}

/** True when `m` looks like a message of the worker (the peer is our own code; this guards against mix-ups). */
export function isFromWorker(m: unknown): m is FromWorker {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { type?: unknown }).type;
  return t === 'ready' || t === 'init-failed' || t === 'report' || t === 'tick-failed';
}

/** True when `m` looks like a message of the supervisor. */
export function isToWorker(m: unknown): m is ToWorker {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { type?: unknown }).type;
  return t === 'init' || t === 'tick' || t === 'stop';
}
