import type { RepoConfig } from '../declarations/types.js';
import { openStoreArg } from '../packages/cli-args.js';
import type { Store } from '../store/store.js';
import { storesFor } from '../store/closure-ref.js';
import type { PublisherPolicy } from '../trust/manifest-policy.js';
import { parsePublicKey } from '../trust/publisher-key.js';

/**
 * The publisher policy flotilla.yaml declares (keys, threshold, deployable flag, promoters), as agents
 * apply it. Throws KeyError for a malformed key (validation normally catches that first).
 */
export function publisherPolicyOf(config: RepoConfig): PublisherPolicy {
  const p = config.publishers;
  return {
    trusted: p.keys.map(parsePublicKey),
    threshold: p.threshold,
    requireDeployable: p.requireDeployable,
    ...(p.promoterKeys.length > 0 ? { promoters: p.promoterKeys.map(parsePublicKey) } : {}),
  };
}

/** The `--store` URLs when given, else the repo's own store list (mirror order), of both kinds. */
export function storeUrlsFor(explicit: string[], config: RepoConfig): string[] {
  return (explicit.length > 0 ? explicit.flatMap((v) => v.split(',')) : config.stores).map((s) => s.trim()).filter((s) => s !== '');
}

/** Opens the Flotilla stores among storeUrlsFor (Nix caches are read through src/nix); relative paths from `cwd`. */
export function openStoresFor(explicit: string[], config: RepoConfig, cwd: string): Store[] {
  return storesFor(storeUrlsFor(explicit, config), 'flotilla').map((u) => openStoreArg(u, { cwd }));
}
