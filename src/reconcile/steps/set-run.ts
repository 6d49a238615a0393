import type { SetState } from '../../generations/index.js';
import type { Generation } from '../../generations/index.js';
import type { Lease } from '../../rollout/lease.js';
import { batchOf, type RolloutPlan } from '../../rollout/planner.js';
import type { RolloutRef } from '../../status/machine-status.js';
import type { SetContext } from '../context.js';
import type { SetOutcome } from '../set-outcome.js';

/** What the gate granted: the slot held (null when the rollout uses no leases) and the rollout to report. */
export interface Granted {
  lease: Lease | null;
  rollout: RolloutRef;
}

/**
 * What the steps of one set know so far. The first four fields are read before the first step; each step
 * may return a copy with more filled in (a staged `generation`, the gate's `granted`).
 */
export interface SetRun {
  readonly ctx: SetContext;
  /** The rollout plan of the desired digest as this machine sees it (setPlanOf). */
  readonly plan: RolloutPlan;
  /** The generation `current` pointed at when the set's turn in the tick began. */
  readonly current: Generation | undefined;
  /** state.json as read when the set's turn began. */
  readonly state: SetState;
  /** The staged generation of the desired digest, once a step has recalled or staged it. */
  readonly generation?: Generation;
  /** The gate's permission, once the gate step has passed. */
  readonly granted?: Granted;
}

/** A step either hands an (enriched) run to the next step, or stops the set with its outcome. */
export type StepResult = { readonly next: SetRun } | { readonly stop: SetOutcome };

/**
 * One step of a set's reconcile. Every step has this shape, so a step is inserted by adding it to the list
 * (set-steps.ts). A step may throw: convergeSet turns the error into a failed outcome with a reason.
 */
export interface SetStep {
  /** Short kebab-case name, for the list, tests and logs. */
  readonly name: string;
  run(run: SetRun): Promise<StepResult>;
}

/** Continue with `run` (enriched or unchanged). */
export function proceed(run: SetRun): StepResult {
  return { next: run };
}

/** The rollout this machine's report belongs to, for the set's desired digest. */
export function rolloutRefOf(run: SetRun): RolloutRef {
  return { id: run.plan.rolloutId, batch: batchOf(run.plan, run.ctx.machine.name) };
}

/** The fields every outcome of this set shares: the set, its desired digest and what runs now. */
export function outcomeBase(ctx: SetContext, current: Generation | undefined): Pick<SetOutcome, 'set' | 'desired' | 'current' | 'generation'> {
  return { set: ctx.set.name, desired: ctx.set.closure, current: current?.digest ?? null, generation: current?.number ?? null };
}

/** Stop the set with an outcome about the generation that runs now (`run.current`). */
export function stopWith(run: SetRun, o: Pick<SetOutcome, 'result' | 'reason' | 'message' | 'stalled' | 'rollout' | 'followAgain' | 'followAfterMs'>): StepResult {
  return { stop: { ...outcomeBase(run.ctx, run.current), ...o } };
}

/**
 * A field an earlier step must have filled in. Throws a plain Error (an internal error) when the step list
 * is misordered: that is a bug, never an input problem.
 */
export function required<K extends 'generation' | 'granted'>(run: SetRun, key: K, step: string): NonNullable<SetRun[K]> {
  const value = run[key];
  if (value === undefined) throw new Error(`step ${step} of set ${run.ctx.set.name} runs before any step set its ${key}`);
  return value;
}
