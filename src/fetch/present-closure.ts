import { readdir } from 'node:fs/promises';
import { packageDirName, packagePath, storeDir } from '../generations/layout.js';
import type { ManifestLimits } from '../packages/limits.js';
import type { PublisherPolicy } from '../trust/manifest-policy.js';
import type { FetchClosureResult } from './fetch-closure.js';
import { objectCacheAt } from './manifest-cache.js';
import { readClosureManifests } from './read-closure.js';

/** What presentClosure needs of a fetch's options. */
export interface PresentClosureOptions {
  digest: string;
  policy: PublisherPolicy;
  stateDir: string;
  limits?: Partial<ManifestLimits>;
}

/**
 * A fetch answered from the state dir alone, as Nix answers a copy of paths it already has: when every
 * package of the closure of `digest` is materialised in STATE/store, and the object cache holds every
 * manifest of it (re-hashed as read) and root signatures that verify under `policy`, the result fetchClosure
 * would give, with no store asked (`requests` 0). Undefined whenever anything is missing, damaged or
 * refused, and when the policy wants the deployable flag (read from the stores every time: it can be
 * revoked): the caller then runs fetchClosure, which checks everything against the stores and reports
 * the errors. Loads no object-fetching code (worker threads, HTTP): a one-shot `flotilla fetch` that finds
 * everything in place pays for little more than Node's start. Never throws.
 */
export async function presentClosure(o: PresentClosureOptions): Promise<FetchClosureResult | undefined> {
  if (o.policy.requireDeployable === true) return undefined;
  const names = await readdir(storeDir(o.stateDir)).catch(() => [] as string[]);
  if (names.length === 0) return undefined;
  const present = new Set(names);
  const closure = await readClosureManifests([], o.digest, { policy: o.policy, cache: objectCacheAt(o.stateDir), ...(o.limits ? { limits: o.limits } : {}) }).catch(() => undefined);
  if (closure === undefined || !closure.packages.every((p) => present.has(packageDirName(p.digest, p.manifest.name)))) return undefined;
  const packages = closure.packages.map((p) => ({ digest: p.digest, name: p.manifest.name, path: packagePath(o.stateDir, p.digest, p.manifest.name) }));
  const result: FetchClosureResult = { packages, bytesFetched: 0, objectsFetched: 0, requests: 0, packsFetched: 0, packFallbacks: 0 };
  if (closure.verdict) result.verdict = closure.verdict;
  return result;
}
