import type { Digest } from '../store/digest.js';
import type { Store } from '../store/store.js';
import { checkDeployable, checkSignatures, storeSignatures, type PolicyVerdict, type PublisherPolicy, type SignatureSource } from '../trust/manifest-policy.js';
import { cachedSignatures, mayHoldSignature } from './manifest-cache.js';
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
  return beginRootPolicy(stores, digest, policy, cache, signal)(size);
}

/**
 * checkRootPolicy in two halves, for a caller that asks for the root's bytes at the same moment: where the
 * cache holds no signature of `digest` by a trusted key name (known at once), the store's signature under the
 * first name, which the check then asks for first, is asked for now, so the check costs no round trip of its own
 * once the size is known. Nothing read is trusted before the returned check verifies it against that size.
 */
export function beginRootPolicy(stores: Store[], digest: Digest, policy: PublisherPolicy, cache?: ObjectCache, signal?: AbortSignal): (size: number) => Promise<RootPolicy> {
  const fromStores = onceEach(storeSignatures(stores, digest, signal));
  const names = policy.trusted.map((k) => k.name);
  const first = names[0];
  if (first !== undefined && (cache === undefined || !mayHoldSignature(cache, digest, names))) fromStores(first).catch(() => undefined); // reported by the check
  return async (size) => {
    const local = cache ? await checkSignatures(cachedSignatures(cache, digest), digest, size, policy).catch(() => undefined) : undefined;
    const signed = local ?? (await checkSignatures(fromStores, digest, size, policy));
    const verdict = signed.verdict;
    if (policy.requireDeployable) verdict.deployable = await checkDeployable(stores, digest, policy.promoters ?? policy.trusted, signal);
    return { verdict, fresh: local ? [] : signed.signatures };
  };
}

/** `source` asked at most once per key name: a later ask gets the first answer. */
function onceEach(source: SignatureSource): SignatureSource {
  const asked = new Map<string, ReturnType<SignatureSource>>();
  return (name) => {
    let answer = asked.get(name);
    if (answer === undefined) asked.set(name, (answer = source(name)));
    return answer;
  };
}
