import type { Declarations, MachineIdentity, SetDeclaration } from './types.js';

/** What set selection looks at: a machine's name and its own labels (the platform never filters). */
export type SelectingMachine = Pick<MachineIdentity, 'name' | 'labels'>;

/** The labels a selector sees for a machine: the inventory's (machines/NAME.yaml) overlaid by its own. */
export function effectiveLabels(decls: Declarations, machine: SelectingMachine): Record<string, string> {
  return { ...decls.machines.get(machine.name)?.labels, ...machine.labels };
}

/** True when `set` applies to the machine: listed by name, or every matchLabels pair matches its labels. */
export function setAppliesTo(set: SetDeclaration, name: string, labels: Record<string, string>): boolean {
  if (set.selection.kind === 'names') return set.selection.names.includes(name);
  return Object.entries(set.selection.matchLabels).every(([k, v]) => labels[k] === v);
}

/**
 * The sets this machine belongs to, in set name order. Platform does not filter: a set for another platform
 * is still returned so the agent refuses its closure loudly (compare `set.platform` with the machine's)
 * instead of silently ignoring it.
 */
export function setsForMachine(decls: Declarations, machine: SelectingMachine): SetDeclaration[] {
  const labels = effectiveLabels(decls, machine);
  return [...decls.sets.values()].filter((s) => setAppliesTo(s, machine.name, labels));
}

/**
 * Pairs of sets among `sets` (one machine's) that claim the same servicePath. The repo rules catch this
 * for machines known to the repo; the agent calls this with its own labels, which the repo may not know.
 */
export function servicePathConflicts(sets: readonly SetDeclaration[]): Array<{ servicePath: string; sets: [string, string] }> {
  const owner = new Map<string, string>();
  const out: Array<{ servicePath: string; sets: [string, string] }> = [];
  for (const s of sets) {
    if (s.servicePath === undefined) continue;
    const prev = owner.get(s.servicePath);
    if (prev !== undefined) out.push({ servicePath: s.servicePath, sets: [prev, s.name] });
    else owner.set(s.servicePath, s.name);
  }
  return out;
}
