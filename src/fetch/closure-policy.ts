import type { Digest } from '../store/digest.js';
import type { Store } from '../store/store.js';
import { checkDeployable, checkSignatures, storeSignatures, type PolicyVerdict, type PublisherPolicy } from '../trust/manifest-policy.js';
import { cachedSignatures } from './manifest-cache.js';
import type { ObjectCache } from './object-cache.js';

/** The verdict on a closure's root, and the signatures read from a store that the cache lacks. */
export interface RootPolicy {
  verdict: PolicyVerdict;
  fresh: Array<{ keyName: string; bytes: Buffer }>;
}

/**
 * Checks `policy` for the root manifest (digest, exact byte size), reading its signatures from `cache`
 * first, as Nix trusts the signatures of the paths it already has: a signature binds the digest and size
 * and never changes, so a cached copy that verifies under THIS policy's keys is as good as the store's.
 * When the cached ones do not meet the policy (other keys, a higher threshold, a damaged or missing file),
 * the stores are read as before and their verified signatures returned as `fresh`, for the caller to cache
 * once the whole closure is accepted. The deployable flag is always read from the stores: it can be
 * revoked. Throws what checkPublisherPolicy throws.
 */
export async function checkRootPolicy(stores: Store[], digest: Digest, size: number, policy: PublisherPolicy, cache?: ObjectCache, signal?: AbortSignal): Promise<RootPolicy> {
  const local = cache ? await checkSignatures(cachedSignatures(cache, digest), digest, size, policy).catch(() => undefined) : undefined;
  const signed = local ?? (await checkSignatures(storeSignatures(stores, digest, signal), digest, size, policy));
  const verdict = signed.verdict;
  if (policy.requireDeployable) verdict.deployable = await checkDeployable(stores, digest, policy.promoters ?? policy.trusted, signal);
  return { verdict, fresh: local ? [] : signed.signatures };
}
