import type { Declarations, SetDeclaration } from '../declarations/types.js';
import { planRollout, selectMachines, type RolloutPlan } from './planner.js';

// The set-level questions every reader of the rollout asks the same way (the agent's gate, `flotilla plan`,
// `flotilla status`, `flotilla revert`): who the members are and what the plan is. Here, below all of them,
// so that none of them reaches into another's folder for it.

/**
 * The machines of a set as the repo knows them: the listed names, or every inventory machine
 * (machines/NAME.yaml) whose labels match the selector. Sorted and unique. Pure; never throws.
 */
export function membersOf(decls: Declarations, set: SetDeclaration): string[] {
  if (set.selection.kind === 'names') return [...new Set(set.selection.names)].sort();
  const inventory = new Map([...decls.machines].map(([name, m]) => [name, m.labels] as const));
  return selectMachines(set.selection.matchLabels, inventory);
}

/**
 * The rollout plan of the set's desired digest as `machine` sees it: the declared members in their
 * deterministic order, and this machine in a final batch when it is not one of them (selected by its own
 * labels after the rollout began). Pure; never throws.
 */
export function setPlanOf(decls: Declarations, set: SetDeclaration, machine: string): RolloutPlan {
  const members = membersOf(decls, set);
  return planRollout({ set: set.name, target: set.closure, machines: members, settings: set.rollout, lateJoiners: members.includes(machine) ? [] : [machine] });
}
