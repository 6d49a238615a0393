import { signaturesPrefix } from '../store/keys.js';
import { listAll, type Store } from '../store/store.js';
import type { Digest } from '../store/digest.js';
import type { PublisherPolicy } from '../trust/manifest-policy.js';

/** The key names that left a signature object for `digest` in any of `stores`, sorted; a store that cannot be listed is skipped. */
export async function signatureNames(stores: Store[], digest: Digest): Promise<string[]> {
  const prefix = signaturesPrefix(digest);
  const names = new Set<string>();
  for (const store of stores) {
    try {
      for await (const o of listAll(store, prefix)) names.add(o.key.slice(prefix.length));
    } catch {
      // Listing is only for the explanation; the policy check itself already read what it could.
    }
  }
  return [...names].sort();
}

/**
 * Says who did sign a closure the policy refused, so a reviewer sees the key to trust or the key that
 * should have signed: names no trusted key carries, and trusted names whose signature is by another key.
 */
export function describeSigners(names: string[], policy: PublisherPolicy): string {
  const trusted = [...new Set(policy.trusted.map((k) => k.name))].sort();
  const keys = `HEAD's publisher keys: ${trusted.join(', ')}`;
  if (names.length === 0) return `no key signed it (${keys})`;
  const parts: string[] = [];
  const untrusted = names.filter((n) => !trusted.includes(n));
  const mismatched = names.filter((n) => trusted.includes(n));
  if (untrusted.length > 0) parts.push(`signed by ${untrusted.join(', ')}, not among ${keys}`);
  if (mismatched.length > 0) parts.push(`the signature(s) under ${mismatched.join(', ')} do not verify with HEAD's key(s) of that name (another key of the same name signed, or the signature is damaged)`);
  return parts.join('; ');
}
