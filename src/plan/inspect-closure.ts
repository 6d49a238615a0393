import { readClosureManifests } from '../fetch/read-closure.js';
import { parseDigest } from '../store/digest.js';
import type { Store } from '../store/store.js';
import { checkPublisherPolicy, type PublisherPolicy } from '../trust/manifest-policy.js';
import { describeSigners, signatureNames } from './closure-signers.js';
import type { ClosureFacts } from './types.js';

const messageOf = (err: unknown): string => (err instanceof Error ? `${(err as { code?: string }).code ?? 'Error'}: ${err.message}` : String(err));

/**
 * Reads what the store says about `digest` under `policy` (null when HEAD's policy is unknown). Never throws
 * for a missing, corrupt, unsigned or unpromoted closure: each lands in the facts as a reason.
 */
export async function inspectClosure(stores: Store[], digest: string, policy: PublisherPolicy | null, signal?: AbortSignal): Promise<ClosureFacts> {
  const facts: ClosureFacts = { digest, packages: null, signatures: { ok: false, reason: 'not checked' } };
  let size: number | undefined;
  try {
    const c = await readClosureManifests(stores, digest, signal ? { signal } : {});
    facts.packages = c.packages;
    size = c.packages[0]?.bytes.length;
  } catch (err) {
    facts.readError = messageOf(err);
  }
  if (policy === null || size === undefined) {
    facts.signatures = { ok: false, reason: policy === null ? 'no publisher policy at HEAD (declarations invalid)' : 'the closure could not be read, so its signatures were not checked' };
    return facts;
  }
  const d = parseDigest(digest);
  try {
    const v = await checkPublisherPolicy(stores, d, size, { ...policy, requireDeployable: false }, signal);
    facts.signatures = { ok: true, signers: v.signers };
  } catch (err) {
    facts.signatures = { ok: false, reason: `${messageOf(err)}; ${describeSigners(await signatureNames(stores, d), policy)}` };
  }
  if (policy.requireDeployable) {
    try {
      const v = await checkPublisherPolicy(stores, d, size, policy, signal);
      facts.deployable = { ok: true, by: v.deployable?.key ?? 'a promoter' };
    } catch (err) {
      facts.deployable = { ok: false, reason: messageOf(err) };
    }
  }
  return facts;
}
