import { diffClosures } from '../packages/diff-closures.js';
import type { NixPathSize } from '../nix/index.js';
import { nixNamePart, type NixStorePath } from '../store/closure-ref.js';
import type { ClosureChange, ClosureFacts, PlanCheck } from './types.js';

const MAX_PATHS = 20;

/** The closure diff old → new in plan form (pure); null when either side could not be read. */
export function closureChange(before: ClosureFacts | undefined, after: ClosureFacts | undefined): ClosureChange | null {
  if (after?.nixPaths) return nixClosureChange(before?.nixPaths ?? [], after.nixPaths);
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

/**
 * A Nix closure's diff: store paths added and removed (a path never changes in place), NarSize sums, and
 * what a machine on the old closure fetches: the added paths' FileSize (downloaded) and NarSize (unpacked).
 * From a Flotilla closure (or none), every path is fetched.
 */
function nixClosureChange(before: readonly NixPathSize[], after: readonly NixPathSize[]): ClosureChange {
  const old = new Set(before.map((p) => p.storePath));
  const now = new Set(after.map((p) => p.storePath));
  const added = after.filter((p) => !old.has(p.storePath));
  const ref = (p: NixPathSize): { name: string; digest: string } => ({ name: nixNamePart(p.storePath as NixStorePath), digest: p.storePath });
  const sum = (xs: readonly NixPathSize[], f: (p: NixPathSize) => number): number => xs.reduce((n, p) => n + f(p), 0);
  return {
    added: added.map(ref),
    removed: before.filter((p) => !now.has(p.storePath)).map(ref),
    changed: [],
    sizeBefore: sum(before, (p) => p.narSize),
    sizeAfter: sum(after, (p) => p.narSize),
    bytesToFetch: sum(added, (p) => p.fileSize),
    objectsToFetch: added.length,
    narBytesToFetch: sum(added, (p) => p.narSize),
  };
}

/** Checks on the new closure of a set: readable and verified, signatures, deployable flag, quarantine (pure). */
export function closureChecks(set: string, facts: ClosureFacts | undefined, quarantine: { machines: string[] } | undefined): PlanCheck[] {
  if (!facts) return [{ name: 'closure', status: 'fail', message: 'the closure was not inspected' }];
  const checks: PlanCheck[] = [];
  if (facts.nixPaths !== undefined) checks.push(...nixClosureChecks(facts));
  else checks.push(facts.packages
    ? { name: 'closure', status: 'pass', message: `${facts.packages.length} package(s) found in the store, every manifest hash-checked` }
    : { name: 'closure', status: 'fail', message: `cannot read the closure: ${facts.readError ?? 'unknown error'}` });
  if (facts.nixPaths === undefined) checks.push(facts.signatures.ok
    ? { name: 'signatures', status: 'pass', message: `signed by ${facts.signatures.signers.join(', ')} (publisher policy at HEAD)` }
    : { name: 'signatures', status: 'fail', message: facts.signatures.reason });
  if (facts.nixPaths !== undefined) checks.push({ name: 'deployable', status: 'skip', message: 'a Nix closure carries no deployable flag: its narinfo signatures are the gate' });
  else if (facts.deployable === undefined) checks.push({ name: 'deployable', status: 'skip', message: 'the publisher policy does not require a deployable flag' });
  else checks.push(facts.deployable.ok
    ? { name: 'deployable', status: 'pass', message: `promoted by ${facts.deployable.by}` }
    : { name: 'deployable', status: 'fail', message: facts.deployable.reason });
  checks.push(quarantine
    ? { name: 'quarantine', status: 'fail', message: `${facts.digest} is quarantined in set ${set}: it failed health on ${quarantine.machines.join(', ') || 'a machine'}; the fleet will not roll it` }
    : { name: 'quarantine', status: 'pass', message: 'not quarantined' });
  return checks;
}

/** The closure and signatures checks of a Nix store path: listed in a Nix cache, every path signed under nix.trustedKeys. */
function nixClosureChecks(facts: ClosureFacts): PlanCheck[] {
  const paths = facts.nixPaths;
  return [
    paths
      ? { name: 'closure', status: 'pass', message: `${paths.length} store path(s) listed in Nix cache ${facts.nixCache ?? ''} (each NAR is hash-checked by the machine that fetches it)` }
      : { name: 'closure', status: 'fail', message: `cannot read the Nix closure: ${facts.readError ?? 'unknown error'}` },
    facts.signatures.ok
      ? { name: 'signatures', status: 'pass', message: `every store path signed by ${facts.signatures.signers.join(', ')} (nix.trustedKeys at HEAD)` }
      : { name: 'signatures', status: 'fail', message: `UNSAFE: ${facts.signatures.reason}` },
  ];
}
