import type { Declarations, SetDeclaration } from '../declarations/types.js';
import { membersOf } from '../rollout/set-plan.js';

/** A set whose declaration differs between BASE and HEAD. */
export interface SetDifference {
  name: string;
  kind: 'added' | 'removed' | 'changed';
  before?: SetDeclaration;
  after?: SetDeclaration;
  /** Which parts changed (closure, machines, suspended, rollout, activate, health, platform, servicePath, description). */
  aspects: string[];
}

const ASPECTS = ['closure', 'suspended', 'rollout', 'activate', 'health', 'platform', 'servicePath', 'description'] as const;

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Compares the sets of two revisions (pure). Machine membership is compared as resolved names, so a label
 * change in machines/*.yaml that moves a machine in or out of a selector counts as a `machines` change.
 * A null `base` (invalid declarations at BASE) makes every HEAD set `added`. Sorted by name.
 */
export function compareSets(base: Declarations | null, head: Declarations): SetDifference[] {
  const out: SetDifference[] = [];
  const baseSets = base?.sets ?? new Map<string, SetDeclaration>();
  for (const [name, after] of head.sets) {
    const before = baseSets.get(name);
    if (!before) {
      out.push({ name, kind: 'added', after, aspects: ['closure', 'machines'] });
      continue;
    }
    const aspects: string[] = ASPECTS.filter((k) => !same(before[k], after[k]));
    if (!same(membersOf(base!, before), membersOf(head, after))) aspects.splice(1, 0, 'machines');
    if (aspects.length > 0) out.push({ name, kind: 'changed', before, after, aspects });
  }
  for (const [name, before] of baseSets) if (!head.sets.has(name)) out.push({ name, kind: 'removed', before, aspects: [] });
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Repo-level changes a reviewer must notice: signers, publisher policy, stores, expiry. Pure. */
export function compareRepo(base: Declarations | null, head: Declarations): string[] {
  if (base === null) return [];
  const out: string[] = [];
  if ((base.allowedSigners ?? '') !== (head.allowedSigners ?? '')) out.push('allowed_signers changed: who may sign deploy-repo commits (agents accept it only when signed by a key they already trust)');
  const [a, b] = [base.config.publishers, head.config.publishers];
  if (!same(a.keys, b.keys) || !same(a.promoterKeys, b.promoterKeys)) out.push('publisher keys changed: which closure signatures machines accept');
  if (a.threshold !== b.threshold || a.requireDeployable !== b.requireDeployable) out.push(`publisher policy changed: threshold ${a.threshold} -> ${b.threshold}, requireDeployable ${a.requireDeployable} -> ${b.requireDeployable}`);
  if (!same(base.config.stores, head.config.stores)) out.push(`stores changed: ${base.config.stores.join(', ')} -> ${head.config.stores.join(', ')}`);
  if (base.config.expires?.getTime() !== head.config.expires?.getTime()) out.push(`expires changed: ${base.config.expires?.toISOString() ?? 'never'} -> ${head.config.expires?.toISOString() ?? 'never'}`);
  return out;
}
