import { createHash } from 'node:crypto';
import type { BatchSize, RolloutPolicy } from '../declarations/types.js';
import type { ClosureRef } from '../store/closure-ref.js';

/**
 * The pure rollout planner: (set, target digest, machines, rollout settings) → ordered batches.
 * No I/O, no clock: every machine of the set computes the same plan from the same declarations.
 *
 * Order: machines sorted by sha256(rolloutId + "\n" + machine) (ties by name). Everyone computes the same
 * order, and the canaries rotate from one rollout to the next instead of always being the same box.
 * Batches: `canary` machines first (one batch), then batches of `batchSize` (a count, a percent of the
 * whole set rounded up, or `all` = everything left in one batch), read from the set's RolloutPolicy as
 * declarations normalised it. Machines that joined the set after the rollout began (`lateJoiners`) form one
 * extra batch after the last, so they never reshuffle the others.
 */

/** A computed plan. `capacity` is the largest batch: the number of lease slots the rollout uses. */
export interface RolloutPlan {
  set: string;
  target: ClosureRef;
  rolloutId: string;
  order: string[];
  batches: string[][];
  capacity: number;
  /** False for `batchSize: all` without canaries: one batch, no leases needed. */
  needsLeases: boolean;
}

/**
 * The rollout id of (set, target digest): "r" + the first 16 hex of sha256(set + "\n" + digest).
 * Deterministic, so every machine names the same lease directory without talking to the others.
 */
export function rolloutIdFor(set: string, target: ClosureRef): string {
  return `r${createHash('sha256').update(`${set}\n${target}`).digest('hex').slice(0, 16)}`;
}

/**
 * Resolves a label selector over the machine inventory (every label must match exactly), sorted by name.
 * An empty selector selects nothing (a typo must not deploy everywhere).
 */
export function selectMachines(selector: Readonly<Record<string, string>>, inventory: ReadonlyMap<string, Readonly<Record<string, string>>>): string[] {
  const wanted = Object.entries(selector);
  if (wanted.length === 0) return [];
  return [...inventory].filter(([, labels]) => wanted.every(([k, v]) => labels[k] === v)).map(([m]) => m).sort();
}

/** The deterministic order of `machines` for `rolloutId` (duplicates removed). */
export function orderMachines(rolloutId: string, machines: readonly string[]): string[] {
  const keyed = [...new Set(machines)].map((m) => [createHash('sha256').update(`${rolloutId}\n${m}`).digest('hex'), m] as const);
  keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return keyed.map(([, m]) => m);
}

function batchLength(size: BatchSize, total: number, remaining: number): number {
  if (size.kind === 'all') return remaining;
  if (size.kind === 'count') return size.count;
  return Math.max(1, Math.ceil((total * size.percent) / 100));
}

/**
 * Plans the rollout of `target` to `machines` of `set`. Pure and total for validated input.
 * `lateJoiners` (machines that were not members when the rollout began) go into a final extra batch;
 * a name in both lists counts as a regular member.
 */
export function planRollout(input: {
  set: string;
  target: ClosureRef;
  machines: readonly string[];
  settings: Pick<RolloutPolicy, 'canary' | 'batchSize'>;
  lateJoiners?: readonly string[];
}): RolloutPlan {
  const rolloutId = rolloutIdFor(input.set, input.target);
  const regular = orderMachines(rolloutId, input.machines);
  const members = new Set(regular);
  const late = orderMachines(rolloutId, (input.lateJoiners ?? []).filter((m) => !members.has(m)));
  const batches: string[][] = [];
  const canary = Math.min(Math.max(0, Math.floor(input.settings.canary)), regular.length);
  if (canary > 0) batches.push(regular.slice(0, canary));
  let at = canary;
  while (at < regular.length) {
    const n = batchLength(input.settings.batchSize, regular.length, regular.length - at);
    batches.push(regular.slice(at, at + n));
    at += n;
  }
  if (late.length > 0) batches.push(late);
  const capacity = Math.max(0, ...batches.map((b) => b.length));
  return {
    set: input.set,
    target: input.target,
    rolloutId,
    order: [...regular, ...late],
    batches,
    capacity,
    needsLeases: !(input.settings.batchSize.kind === 'all' && canary === 0),
  };
}

/** The batch index of `machine` in `plan`, or -1 when it is not part of the set. */
export function batchOf(plan: RolloutPlan, machine: string): number {
  return plan.batches.findIndex((b) => b.includes(machine));
}
