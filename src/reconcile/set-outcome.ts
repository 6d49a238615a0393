import type { ClosureRef } from '../store/closure-ref.js';
import { Reason, type Condition, type ReasonName } from '../status/conditions.js';
import { MACHINE_STATUS_SCHEMA, type MachineState, type MachineStatus, type RolloutRef } from '../status/machine-status.js';

/**
 * What one tick did for one set on this machine:
 * - `unchanged`: already running the desired digest (Ready);
 * - `converged`: switched to the desired digest and it passed activation and health (Ready);
 * - `waiting`: a gate, a window, a slot or a dependency holds it back (exit 3);
 * - `failed`: could not proceed (verification, fetch, a digest remembered as bad) (exit 1);
 * - `rolled-back`: switched, failed activation or health, and went back (exit 1).
 */
export type SetResult = 'unchanged' | 'converged' | 'waiting' | 'failed' | 'rolled-back';

/** The outcome of one set in one tick, turned into a status report at the end of the tick. */
export interface SetOutcome {
  set: string;
  desired: ClosureRef | null;
  current: ClosureRef | null;
  generation: number | null;
  result: SetResult;
  reason: ReasonName;
  message: string;
  /** True when a human must act (the same input will fail again). */
  stalled: boolean;
  rollout: RolloutRef | null;
  /** Waiting on a batch that is working right now: the daemon ticks again at once (step-gate.ts). */
  followAgain?: true;
  /**
   * Waiting on a batch that cannot be done before this many ms from now (batch-pace.ts): the daemon ticks
   * again then, whatever its poll interval, and the gate follows from there.
   */
  followAfterMs?: number;
}

const STATE_OF: Record<SetResult, MachineState> = {
  unchanged: 'Ready',
  converged: 'Ready',
  waiting: 'Waiting',
  failed: 'Failed',
  'rolled-back': 'RolledBack',
};

function condition(type: Condition['type'], on: boolean, reason: ReasonName, message: string, at: string, previous?: Condition[]): Condition {
  const status = on ? 'True' : 'False';
  const before = previous?.find((c) => c.type === type);
  // Keep the transition time while the status does not change, as Kubernetes conditions do: the gate
  // measures pauses between batches from the Ready transition.
  const lastTransitionTime = before && before.status === status ? before.lastTransitionTime : at;
  return { type, status, reason, message, lastTransitionTime };
}

/**
 * The outcome's rollout, with the fencing token the machine switched under carried over from the previous
 * report while it still runs that rollout's digest: the ticks after a switch hold no lease, and losing the
 * token from the report would rewrite it once for nothing.
 */
function rolloutOf(o: SetOutcome, previous: MachineStatus | undefined): RolloutRef | null {
  const before = previous?.rollout;
  if (o.rollout === null || o.rollout.token !== undefined || before?.token === undefined) return o.rollout;
  if (before.id !== o.rollout.id || previous?.currentDigest !== o.current) return o.rollout;
  return { ...o.rollout, token: before.token };
}

/** Builds the status report of one set from its tick outcome. `previous` keeps condition transition times. */
export function toMachineStatus(o: SetOutcome, ctx: { machine: string; commit: string | null; at: Date; agentVersion: string; previous?: MachineStatus; historyKey?: string; historyHead?: { seq: number; sha256: string }; heartbeatMs?: number }): MachineStatus {
  const at = ctx.at.toISOString();
  const ready = o.result === 'unchanged' || o.result === 'converged';
  // Transition times carry over only while the machine runs the same digest: Ready on the old digest then
  // Ready on the new one is a new Ready, and the gate times the pause between batches from it.
  const prev = ctx.previous && ctx.previous.currentDigest === o.current ? ctx.previous.conditions : undefined;
  const conditions: Condition[] = [
    condition('Ready', ready, ready ? Reason.Succeeded : o.reason, o.message, at, prev),
    condition('Reconciling', o.result === 'waiting', o.result === 'waiting' ? o.reason : Reason.Succeeded, o.result === 'waiting' ? o.message : '', at, prev),
    condition('Stalled', o.stalled, o.stalled ? o.reason : Reason.Succeeded, o.stalled ? o.message : '', at, prev),
  ];
  return {
    schema: MACHINE_STATUS_SCHEMA,
    machine: ctx.machine,
    set: o.set,
    desiredDigest: o.desired,
    currentDigest: o.current,
    generation: o.generation,
    commit: ctx.commit,
    state: STATE_OF[o.result],
    conditions,
    rollout: rolloutOf(o, ctx.previous),
    reportedAt: at,
    agentVersion: ctx.agentVersion,
    ...(ctx.historyKey !== undefined ? { historyKey: ctx.historyKey } : {}),
    ...(ctx.historyHead !== undefined ? { historyHead: ctx.historyHead } : {}),
    // Whole seconds, rounded up: readers then never expect a beat sooner than it comes.
    ...(ctx.heartbeatMs !== undefined ? { heartbeatSeconds: Math.max(1, Math.ceil(ctx.heartbeatMs / 1000)) } : {}),
  };
}

/** The exit code of `agent --once` for a tick's outcomes: 1 if anything failed, 3 if anything waits, else 0. */
export function exitCodeOf(outcomes: readonly SetOutcome[], tickFailed: boolean): 0 | 1 | 3 {
  if (tickFailed || outcomes.some((o) => o.result === 'failed' || o.result === 'rolled-back')) return 1;
  if (outcomes.some((o) => o.result === 'waiting')) return 3;
  return 0;
}
