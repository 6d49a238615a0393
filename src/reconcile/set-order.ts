import type { SetDeclaration } from '../declarations/types.js';

/**
 * Orders one machine's sets so a set comes after the sets it depends on (when both run here), then by
 * name. The repo rules refuse cycles; should one slip through, the remaining sets keep name order.
 */
export function orderByDependencies(sets: readonly SetDeclaration[]): SetDeclaration[] {
  const byName = new Map(sets.map((s) => [s.name, s]));
  const out: SetDeclaration[] = [];
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const visit = (s: SetDeclaration): void => {
    if (placed.has(s.name) || visiting.has(s.name)) return;
    visiting.add(s.name);
    for (const dep of s.rollout.dependsOn) {
      const d = byName.get(dep);
      if (d) visit(d);
    }
    visiting.delete(s.name);
    placed.add(s.name);
    out.push(s);
  };
  for (const s of [...sets].sort((a, b) => a.name.localeCompare(b.name))) visit(s);
  return out;
}
