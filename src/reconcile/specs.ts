import { toActivationSpec, toHealthSpec } from '../activation/from-declarations.js';
import type { ActivationSpec, HealthSpec as CheckSpec } from '../activation/spec.js';
import type { Declarations, SetDeclaration } from '../declarations/types.js';
import { planRollout, selectMachines, type BatchSize as PlannerBatchSize, type RolloutPlan, type RolloutSettings } from '../rollout/planner.js';

/** The set's activation, or undefined when it declares none (switching the link is then the whole activation). */
export function activationSpecOf(set: SetDeclaration): ActivationSpec | undefined {
  return set.activate === undefined ? undefined : toActivationSpec(set.activate);
}

/** The set's health check, or undefined when it declares none (activation success is then enough). */
export function healthSpecOf(set: SetDeclaration): CheckSpec | undefined {
  return set.health === undefined ? undefined : toHealthSpec(set.health);
}

/** The rollout planner's view of a set's rollout policy. */
export function rolloutSettingsOf(set: SetDeclaration): RolloutSettings {
  const r = set.rollout;
  const batchSize: PlannerBatchSize = r.batchSize.kind === 'all' ? 'all' : r.batchSize.kind === 'count' ? { count: r.batchSize.count } : { percent: r.batchSize.percent };
  return {
    canary: r.canary,
    batchSize,
    pauseBetweenBatchesMs: r.pauseBetweenBatchesMs,
    maxFailures: r.maxFailures,
    dependsOn: r.dependsOn,
    windows: r.windows.map((w) => ({
      kind: w.deny ? 'deny' : 'allow',
      days: w.days,
      start: `${String(Math.floor(w.startMinute / 60)).padStart(2, '0')}:${String(w.startMinute % 60).padStart(2, '0')}`,
      durationMinutes: Math.round(w.durationMs / 60_000),
      timeZone: w.timeZone,
    })),
  };
}

/**
 * The machines of a set as the repo knows them: the listed names, or every inventory machine
 * (machines/NAME.yaml) whose labels match the selector. Sorted and unique.
 */
export function membersOf(decls: Declarations, set: SetDeclaration): string[] {
  if (set.selection.kind === 'names') return [...new Set(set.selection.names)].sort();
  const inventory = new Map([...decls.machines].map(([name, m]) => [name, m.labels] as const));
  return selectMachines(set.selection.matchLabels, inventory);
}

/**
 * The rollout plan of the set's desired digest as this machine sees it: the declared members in their
 * deterministic order, and this machine in a final batch when it is not one of them (selected by its own
 * labels after the rollout began).
 */
export function setPlanOf(decls: Declarations, set: SetDeclaration, machine: string): RolloutPlan {
  const members = membersOf(decls, set);
  return planRollout({ set: set.name, target: set.closure, machines: members, settings: rolloutSettingsOf(set), lateJoiners: members.includes(machine) ? [] : [machine] });
}
