import type { Declarations } from '../declarations/types.js';
import { readDeclarationsAt } from '../deploy-repo/index.js';
import { closeAll } from '../packages/cli-args.js';
import { readQuarantine } from '../rollout/quarantine.js';
import { isClosureRef, isNixStorePath } from '../store/closure-ref.js';
import type { Store } from '../store/store.js';
import type { CommitTrust } from '../trust/commit-trust.js';
import type { PublisherPolicy } from '../trust/manifest-policy.js';
import { openStoresFor, publisherPolicyOf, storeUrlsFor } from '../bump/repo-policy.js';
import { quarantineKeyOf } from './build-plan.js';
import { checkCommits, commitsBetween, commitTrustFor } from './commit-facts.js';
import { compareSets } from './compare-sets.js';
import { inspectClosure } from './inspect-closure.js';
import { inspectNixClosure } from './inspect-nix-closure.js';
import type { ClosureFacts, PlanInput, RevisionInput } from './types.js';

/** What to gather: a gitdir, the two commits, where the closures are, and the pinned commit trust if any. */
export interface GatherOptions {
  gitdir: string;
  base: string;
  head: string;
  storeUrls: string[];
  cwd: string;
  trust?: CommitTrust;
  trustSource?: string;
  now: Date;
  signal?: AbortSignal;
}

/** A revision's declarations as plan input: an unsafe tree or invalid files are issues, never a throw. */
async function readRevision(gitdir: string, oid: string): Promise<RevisionInput> {
  const at = await readDeclarationsAt(gitdir, oid);
  return { oid, decls: at.decls, issues: at.issues };
}

function policyOf(decls: Declarations | null): PublisherPolicy | null {
  if (decls === null) return null;
  try {
    return publisherPolicyOf(decls.config);
  } catch {
    return null;
  }
}

async function quarantinedMachines(stores: Store[], set: string, digest: string): Promise<{ machines: string[] } | null> {
  if (!isClosureRef(digest)) return null;
  for (const s of stores) {
    const q = await readQuarantine(s, set, digest).catch(() => null);
    if (q) return { machines: q.failures.map((f) => f.machine) };
  }
  return null;
}

/**
 * Reads everything a plan of BASE..HEAD needs: both revisions' declarations, the signature of every commit
 * in between (against the pinned trust or BASE's allowed_signers), and, for each set whose closure moves,
 * the old and new closures (manifests, signatures, deployable flag; for a Nix store path its paths from the
 * Nix caches and their signatures under HEAD's nix keys) and any quarantine of the new one.
 * Fails only on repo read errors; store trouble becomes facts in the input.
 */
export async function gatherPlanInput(o: GatherOptions): Promise<PlanInput> {
  const [base, head] = [await readRevision(o.gitdir, o.base), await readRevision(o.gitdir, o.head)];
  const t = commitTrustFor(o.trust, o.trustSource, base.decls?.allowedSigners, o.base);
  const commits = await checkCommits(o.gitdir, await commitsBetween(o.gitdir, o.base, o.head), t.trust, o.now.getTime());
  const closures = new Map<string, ClosureFacts>();
  const quarantines = new Map<string, { machines: string[] }>();
  const config = head.decls?.config ?? base.decls?.config;
  const storeUrls = o.storeUrls.length > 0 ? o.storeUrls : (config?.stores ?? []);
  if (head.decls && config) {
    const stores = openStoresFor(o.storeUrls, config, o.cwd);
    const policy = policyOf(head.decls);
    try {
      for (const d of compareSets(base.decls, head.decls)) {
        if (!(d.kind === 'added' || d.aspects.includes('closure')) || !d.after) continue;
        for (const digest of [d.after.closure, d.before?.closure]) {
          if (digest === undefined || closures.has(digest)) continue;
          closures.set(digest, isNixStorePath(digest)
            ? await inspectNixClosure(storeUrlsFor(o.storeUrls, config), digest, head.decls.config, o.signal)
            : await inspectClosure(stores, digest, policy, o.signal));
        }
        const q = await quarantinedMachines(stores, d.name, d.after.closure);
        if (q) quarantines.set(quarantineKeyOf(d.name, d.after.closure), q);
      }
    } finally {
      await closeAll(stores);
    }
  }
  return {
    base, head, commits, commitTrust: t.source, ...(t.error !== undefined ? { commitTrustError: t.error } : {}),
    closures, quarantines, stores: storeUrls, now: o.now,
  };
}
