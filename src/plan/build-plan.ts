import { formatIssue } from '../declarations/result.js';
import type { Declarations } from '../declarations/types.js';
import { membersOf } from '../rollout/set-plan.js';
import type { Digest } from '../store/digest.js';
import { closureChange, closureChecks } from './closure-checks.js';
import { compareRepo, compareSets, type SetDifference } from './compare-sets.js';
import { describeRollout } from './describe-rollout.js';
import { nixNamePart, type NixStorePath } from '../store/closure-ref.js';
import type { ClosureFacts, Plan, PlanCheck, PlanInput, PlanSet } from './types.js';

/** The key of PlanInput.quarantines for a set and digest. */
export const quarantineKeyOf = (set: string, digest: string): string => `${set} ${digest}`;

function buildSet(input: PlanInput, head: Declarations, d: SetDifference): PlanSet {
  const decl = d.after ?? d.before!;
  const to = d.after?.closure ?? null;
  const from = d.before?.closure ?? null;
  const closureMoved = d.kind === 'added' || d.aspects.includes('closure');
  const after = to === null ? undefined : input.closures.get(to);
  const before = from === null ? undefined : input.closures.get(from);
  const checks: PlanCheck[] = [];
  if (d.kind === 'removed') {
    checks.push({ name: 'removed', status: 'warn', message: 'the set is removed: agents stop managing it and leave its last generation in place' });
  } else if (closureMoved) {
    checks.push(...closureChecks(decl.name, after, input.quarantines.get(quarantineKeyOf(decl.name, to!))));
  } else {
    checks.push({ name: 'closure', status: 'skip', message: 'closure unchanged: machines fetch and switch nothing; the new settings apply from the next tick' });
  }
  const suspension = suspensionCheck(d);
  if (suspension) checks.push(suspension);
  if (d.aspects.includes('machines') && d.before && d.after && input.base.decls) checks.push(membershipCheck(membersOf(input.base.decls, d.before), membersOf(head, d.after)));
  const root = after?.packages?.[0];
  return {
    name: decl.name,
    file: decl.file,
    kind: d.kind,
    aspects: d.aspects,
    from,
    to,
    packages: packageNames(after),
    provenance: root ? { ...root.manifest.provenance } : {},
    diff: closureMoved ? closureChange(before, after) : null,
    rollout: d.after ? describeRollout(head, d.after, to as Digest, input.now) : null,
    checks,
    ok: true,
  };
}

/** The new closure's package names, or its store path names for a Nix closure. */
function packageNames(facts: ClosureFacts | undefined): string[] {
  if (facts?.nixPaths) return [...new Set(facts.nixPaths.map((p) => nixNamePart(p.storePath as NixStorePath)))].sort();
  return facts?.packages ? [...new Set(facts.packages.map((p) => p.manifest.name))].sort() : [];
}

/** A suspended set switches nothing, whatever else the commit changes; a reviewer sees it, and sees it lifted. */
function suspensionCheck(d: SetDifference): PlanCheck | undefined {
  if (d.after?.suspended) return { name: 'suspended', status: 'warn', message: 'suspended: machines keep what they run and switch to nothing until a commit removes `suspended: true`' };
  if (d.aspects.includes('suspended')) return { name: 'suspended', status: 'pass', message: 'resumed: `suspended` is lifted and the set rolls out to its closure again' };
  return undefined;
}

/** Who joins or leaves the set: joiners fetch the whole closure, leavers keep their generation unmanaged. */
function membershipCheck(before: string[], after: string[]): PlanCheck {
  const joins = after.filter((m) => !before.includes(m));
  const leaves = before.filter((m) => !after.includes(m));
  const parts = [
    ...(joins.length > 0 ? [`${joins.join(', ')} join(s) and fetch the whole closure`] : []),
    ...(leaves.length > 0 ? [`${leaves.join(', ')} leave(s): the agent stops managing the set there and leaves its last generation in place`] : []),
  ];
  return { name: 'machines', status: leaves.length > 0 ? 'warn' : 'pass', message: parts.join('; ') || 'membership unchanged' };
}

/** dependsOn: a set waits for the sets it depends on; it fails when one of them fails in this plan. */
function dependencyChecks(sets: PlanSet[], head: Declarations): void {
  const byName = new Map(sets.map((s) => [s.name, s]));
  for (const s of sets) {
    const deps = head.sets.get(s.name)?.rollout.dependsOn ?? [];
    if (deps.length === 0) continue;
    const failing = deps.filter((dep) => byName.get(dep)?.checks.some((c) => c.status === 'fail'));
    const inPlan = deps.filter((dep) => byName.has(dep));
    if (failing.length > 0) {
      s.checks.push({ name: 'dependsOn', status: 'fail', message: `depends on ${failing.join(', ')}, whose checks fail in this plan: ${s.name} would never start` });
    } else {
      const order = inPlan.length > 0 ? `; also changed here, so ${inPlan.join(', ')} roll(s) out first` : '';
      s.checks.push({ name: 'dependsOn', status: 'pass', message: `waits until ${deps.join(', ')} are Ready on every machine${order}` });
    }
  }
}

function commitCheck(input: PlanInput): PlanCheck {
  if (input.commitTrustError !== undefined) return { name: 'commit-signatures', status: 'fail', message: input.commitTrustError };
  if (input.commits.length === 0) return { name: 'commit-signatures', status: 'skip', message: 'no commits between BASE and HEAD' };
  const bad = input.commits.filter((c) => !c.ok);
  if (bad.length === 0) return { name: 'commit-signatures', status: 'pass', message: `${input.commits.length} commit(s), all signed by trusted keys (${input.commitTrust})` };
  return {
    name: 'commit-signatures',
    status: 'fail',
    message: `${bad.length} of ${input.commits.length} commit(s) not signed by a trusted key (${input.commitTrust}); agents would refuse HEAD`,
    details: bad.map((c) => `${c.oid.slice(0, 12)} ${c.subject}: ${c.reason ?? 'untrusted'}`),
  };
}

function declarationCheck(input: PlanInput): PlanCheck {
  if (input.head.decls) return { name: 'declarations', status: 'pass', message: 'schemas and rules hold at HEAD' };
  return { name: 'declarations', status: 'fail', message: `${input.head.issues.length} declaration error(s) at HEAD`, details: input.head.issues.map(formatIssue) };
}

function verdictOf(plan: Omit<Plan, 'verdict' | 'ok'>): { ok: boolean; verdict: string } {
  const failed = [
    ...plan.checks.filter((c) => c.status === 'fail').map((c) => c.name),
    ...plan.sets.flatMap((s) => s.checks.filter((c) => c.status === 'fail').map((c) => `${s.name}/${c.name}`)),
  ];
  const n = plan.sets.length;
  if (failed.length > 0) return { ok: false, verdict: `FAIL: ${failed.length} check(s) failed (${failed.join(', ')}); do not merge` };
  return { ok: true, verdict: n === 0 ? 'OK: no set changes; nothing rolls out' : `OK: ${n} set(s) change, every check passes; merging starts the rollout` };
}

/**
 * Builds the plan of BASE..HEAD from gathered facts (pure: no I/O, no clock; `input.now` is the instant
 * windows are judged at). Every problem is a failed check in the plan, never an exception.
 */
export function buildPlan(input: PlanInput): Plan {
  const head = input.head.decls;
  const sets = head ? compareSets(input.base.decls, head).map((d) => buildSet(input, head, d)) : [];
  if (head) dependencyChecks(sets, head);
  for (const s of sets) s.ok = !s.checks.some((c) => c.status === 'fail');
  const partial = {
    schema: 'flotilla.plan/v1' as const,
    base: input.base.oid,
    head: input.head.oid,
    generatedAt: input.now.toISOString(),
    stores: input.stores,
    repoChanges: head ? compareRepo(input.base.decls, head) : [],
    checks: [declarationCheck(input), commitCheck(input)],
    commits: input.commits,
    commitTrust: input.commitTrust,
    sets,
  };
  return { ...partial, ...verdictOf(partial) };
}
