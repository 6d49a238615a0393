import { issueAt } from './issue-at.js';
import type { MachineFile, Rule, SetFile } from './rule-types.js';
import type { DeclarationIssue } from './result.js';
import type { SetDeclaration } from './types.js';

function dependsOnPointer(s: SetFile, dep: string): string {
  const i = s.raw.rollout?.dependsOn?.indexOf(dep) ?? -1;
  return i >= 0 ? `/rollout/dependsOn/${i}` : '';
}

/** Every name in rollout.dependsOn must be a set of this repo. */
export const dependsOnKnown: Rule = {
  name: 'dependsOn-unknown',
  check: ({ sets, allSetNames }) => {
    const names = new Set([...allSetNames, ...sets.map((s) => s.name)]);
    return sets.flatMap((s) =>
      s.set.rollout.dependsOn
        .filter((d) => !names.has(d))
        .map((d) => issueAt(s.parsed, dependsOnPointer(s, d), `depends on unknown set "${d}"`, 'dependsOn-unknown')),
    );
  },
};

/** rollout.dependsOn must not form a cycle (a set waiting on itself, directly or through others). */
export const dependsOnAcyclic: Rule = {
  name: 'dependsOn-cycle',
  check: ({ sets }) => {
    const byName = new Map(sets.map((s) => [s.name, s]));
    const state = new Map<string, 'visiting' | 'done'>();
    const issues: DeclarationIssue[] = [];
    const visit = (name: string, path: string[]): void => {
      const s = byName.get(name);
      if (!s || state.get(name) === 'done') return;
      state.set(name, 'visiting');
      for (const dep of s.set.rollout.dependsOn) {
        if (state.get(dep) === 'visiting') {
          const cycle = [...path.slice(path.indexOf(dep)), name, dep];
          issues.push(issueAt(s.parsed, dependsOnPointer(s, dep), `dependsOn forms a cycle: ${cycle.join(' -> ')}`, 'dependsOn-cycle'));
        } else {
          visit(dep, [...path, name]);
        }
      }
      state.set(name, 'done');
    };
    for (const s of [...sets].sort((a, b) => a.name.localeCompare(b.name))) visit(s.name, []);
    return issues;
  },
};

/** Two files may not declare the same set: web.yaml and web.yml, or names equal but for case (state dirs on case-insensitive disks). */
export const uniqueSetNames: Rule = {
  name: 'duplicate-set-name',
  check: ({ sets }) => {
    const first = new Map<string, SetFile>();
    const issues: DeclarationIssue[] = [];
    for (const s of sets) {
      const key = s.name.toLowerCase();
      const prev = first.get(key);
      if (prev) issues.push(issueAt(s.parsed, '', `set "${s.name}" is also declared by ${prev.parsed.file}`, 'duplicate-set-name'));
      else first.set(key, s);
    }
    return issues;
  },
};

/** The machines of the inventory a set applies to: its names, or inventory machines matching its selector. */
export function knownMachinesOf(set: SetDeclaration, inventory: readonly MachineFile[]): string[] {
  if (set.selection.kind === 'names') return set.selection.names;
  const want = Object.entries(set.selection.matchLabels);
  return inventory.filter((m) => want.every(([k, v]) => m.machine.labels[k] === v)).map((m) => m.name);
}

/**
 * Two sets may not claim the same servicePath on one machine. Checked for machines known here (listed names
 * and inventory machines matching selectors); the agent checks again with its own labels (servicePathConflicts).
 */
export const uniqueServicePath: Rule = {
  name: 'service-path-conflict',
  check: ({ sets, machines }) => {
    const claims = new Map<string, SetFile>();
    const issues: DeclarationIssue[] = [];
    for (const s of [...sets].sort((a, b) => a.name.localeCompare(b.name))) {
      if (s.set.servicePath === undefined) continue;
      for (const m of knownMachinesOf(s.set, machines)) {
        const key = `${m}\0${s.set.servicePath}`;
        const prev = claims.get(key);
        if (prev && prev.name !== s.name) {
          issues.push(issueAt(s.parsed, '/servicePath', `machine "${m}" is already claimed for ${s.set.servicePath} by set "${prev.name}"`, 'service-path-conflict'));
        } else {
          claims.set(key, s);
        }
      }
    }
    return issues;
  },
};
