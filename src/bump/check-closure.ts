import type { RepoConfig } from '../declarations/types.js';
import { closeResolved, nixTrustOf, resolveFromCaches } from '../fetch/nix-closure.js';
import { readClosureManifests } from '../fetch/read-closure.js';
import { parseStorePath, trustedSigners } from '../nix/index.js';
import { storesFor, type ClosureRef } from '../store/closure-ref.js';
import { isDigest } from '../store/digest.js';
import type { Store } from '../store/store.js';
import { publisherPolicyOf } from './repo-policy.js';

/** What a closure about to be committed holds, as its store proved it. */
export interface CheckedClosure {
  /** Package names (a Flotilla closure) or store path names (a Nix closure), sorted. */
  packages: string[];
  /** Keys whose signatures verified (on the manifest, or on the Nix top path). */
  signers: string[];
}

/**
 * Proves `closure` deployable under the repo's policy before a commit names it: a digest is read from the
 * Flotilla `stores` under the publisher policy; a Nix store path is resolved from the Nix caches among
 * `urls` with every path signed under flotilla.yaml's nix keys. Throws what fetching would throw
 * (NotFoundError, SignatureError, PolicyError, IntegrityError, KeyError).
 */
export async function checkClosure(closure: ClosureRef, config: RepoConfig, stores: Store[], urls: string[]): Promise<CheckedClosure> {
  if (isDigest(closure)) {
    const c = await readClosureManifests(stores, closure, { policy: publisherPolicyOf(config) });
    return { packages: [...new Set(c.packages.map((p) => p.manifest.name))].sort(), signers: c.verdict?.signers ?? [] };
  }
  const trust = nixTrustOf(config.nix);
  const r = await resolveFromCaches({ urls: storesFor(urls, 'nix'), trust }, closure);
  try {
    const top = r.closure.find((i) => i.storePath === closure)!;
    return { packages: [...new Set(r.closure.map((i) => parseStorePath(i.storePath).name))].sort(), signers: trustedSigners(top, trust) };
  } finally {
    await closeResolved(r);
  }
}
