import { diffClosures } from '../packages/diff-closures.js';
import type { ClosureChange, ClosureFacts, PlanCheck } from './types.js';

const MAX_PATHS = 20;

/** The closure diff old → new in plan form (pure); null when either side could not be read. */
export function closureChange(before: ClosureFacts | undefined, after: ClosureFacts | undefined): ClosureChange | null {
  if (!after?.packages) return null;
  const d = diffClosures(before?.packages ?? [], after.packages);
  return {
    added: d.added,
    removed: d.removed,
    changed: d.changed.map((c) => ({
      name: c.name,
      from: c.from ?? '',
      to: c.to ?? '',
      filesAdded: c.added.length,
      filesRemoved: c.removed.length,
      filesChanged: c.changed.length,
      paths: [...c.added.map((p) => `+ ${p}`), ...c.removed.map((p) => `- ${p}`), ...c.changed.map((p) => `~ ${p}`)].slice(0, MAX_PATHS),
    })),
    sizeBefore: d.sizeA,
    sizeAfter: d.sizeB,
    bytesToFetch: d.bytesToFetch,
    objectsToFetch: d.objectsToFetch,
  };
}

/** Checks on the new closure of a set: readable and verified, signatures, deployable flag, quarantine (pure). */
export function closureChecks(set: string, facts: ClosureFacts | undefined, quarantine: { machines: string[] } | undefined): PlanCheck[] {
  if (!facts) return [{ name: 'closure', status: 'fail', message: 'the closure was not inspected' }];
  const checks: PlanCheck[] = [];
  checks.push(facts.packages
    ? { name: 'closure', status: 'pass', message: `${facts.packages.length} package(s) found in the store, every manifest hash-checked` }
    : { name: 'closure', status: 'fail', message: `cannot read the closure: ${facts.readError ?? 'unknown error'}` });
  checks.push(facts.signatures.ok
    ? { name: 'signatures', status: 'pass', message: `signed by ${facts.signatures.signers.join(', ')} (publisher policy at HEAD)` }
    : { name: 'signatures', status: 'fail', message: facts.signatures.reason });
  if (facts.deployable === undefined) checks.push({ name: 'deployable', status: 'skip', message: 'the publisher policy does not require a deployable flag' });
  else checks.push(facts.deployable.ok
    ? { name: 'deployable', status: 'pass', message: `promoted by ${facts.deployable.by}` }
    : { name: 'deployable', status: 'fail', message: facts.deployable.reason });
  checks.push(quarantine
    ? { name: 'quarantine', status: 'fail', message: `${facts.digest} is quarantined in set ${set}: it failed health on ${quarantine.machines.join(', ') || 'a machine'}; the fleet will not roll it` }
    : { name: 'quarantine', status: 'pass', message: 'not quarantined' });
  return checks;
}
