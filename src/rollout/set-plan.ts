import type { Declarations, SetDeclaration } from '../declarations/types.js';
import { isParseProblem, type MachineStatus, type ParseProblem } from '../status/machine-status.js';
import { isFresh } from '../status/readiness.js';
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
 * labels after the rollout began). `alone`: a plan of this machine only (a try of its testing branch).
 * Pure; never throws.
 */
export function setPlanOf(decls: Declarations, set: SetDeclaration, machine: string, alone = false): RolloutPlan {
  if (alone) return planRollout({ set: set.name, target: set.closure, machines: [machine], settings: set.rollout, lateJoiners: [] });
  const members = membersOf(decls, set);
  return planRollout({ set: set.name, target: set.closure, machines: members, settings: set.rollout, lateJoiners: members.includes(machine) ? [] : [machine] });
}

/**
 * The machines that report for `set` but are no longer in it: not members at this revision and, for a set
 * that selects by labels, without a fresh report (a machine selected by its own labels, which the repo may
 * not know, keeps reporting; one that left stops). A set listing names has no such joiners: every other
 * reporter left it. `flotilla status` shows them apart and `flotilla gc --store` collects their reports.
 * Sorted; pure; never throws.
 */
export function removedFromSet(decls: Declarations, set: SetDeclaration, statuses: ReadonlyMap<string, MachineStatus | ParseProblem>, now: Date, staleAfterMs: number): string[] {
  const members = new Set(membersOf(decls, set));
  const left = (s: MachineStatus | ParseProblem): boolean => set.selection.kind === 'names' || isParseProblem(s) || !isFresh(s, now, staleAfterMs);
  return [...statuses].filter(([m, s]) => !members.has(m) && left(s)).map(([m]) => m).sort();
}
