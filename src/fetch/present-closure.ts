import { readdir } from 'node:fs/promises';
import { SizeLimitError } from '../errors/index.js';
import { packageDirName, packagePath, storeDir } from '../generations/layout.js';
import { resolveLimits, type ManifestLimits } from '../packages/limits.js';
import { parseDigest, type Digest } from '../store/digest.js';
import type { PublisherPolicy } from '../trust/manifest-policy.js';
import { checkRootPolicy } from './closure-policy.js';
import type { FetchClosureResult } from './fetch-closure.js';
import { fetchManifestBytes } from './fetch-manifest.js';
import { objectCacheAt } from './manifest-cache.js';
import { readManifestSkeleton } from './manifest-skeleton.js';

/** What presentClosure needs of a fetch's options. */
export interface PresentClosureOptions {
  digest: string;
  policy: PublisherPolicy;
  stateDir: string;
  limits?: Partial<ManifestLimits>;
}

/**
 * A fetch answered from the state dir alone, as Nix answers a copy of paths it already has: when the
 * object cache holds the root's manifest and signatures that verify under `policy` (checked first, before
 * anything is parsed), and every package of the closure of `digest` is materialised in STATE/store with its
 * manifest in the cache (each re-hashed as read), the result fetchClosure would give, with no store asked
 * (`requests` 0). The closure is walked as readClosureManifests walks it (same order, package and byte
 * limits), reading of each manifest only what the walk needs (manifest-skeleton.ts: a materialised
 * package's manifest passed the full parse when it was placed). Undefined whenever anything is missing,
 * damaged or refused, and when the policy wants the deployable flag (read from the stores every time: it
 * can be revoked): the caller then runs fetchClosure, which checks everything against the stores and
 * reports the errors. Loads no object-fetching code (worker threads, HTTP): a one-shot `flotilla fetch`
 * that finds everything in place pays for little more than Node's start. Never throws.
 */
export async function presentClosure(o: PresentClosureOptions): Promise<FetchClosureResult | undefined> {
  if (o.policy.requireDeployable === true) return undefined;
  const names = await readdir(storeDir(o.stateDir)).catch(() => [] as string[]);
  if (names.length === 0) return undefined;
  try {
    return await walkPresent(o, new Set(names));
  } catch {
    return undefined;
  }
}

/** presentClosure's walk; undefined at the first package not in `present`; throws on anything refused. */
async function walkPresent(o: PresentClosureOptions, present: ReadonlySet<string>): Promise<FetchClosureResult | undefined> {
  const root = parseDigest(o.digest, 'closure digest');
  const limits = resolveLimits(o.limits);
  const cache = objectCacheAt(o.stateDir);
  const rootBytes = await fetchManifestBytes([], root, limits.maxManifestBytes, cache);
  // No store: signatures only from the cache, which fail the policy unless they verify under it.
  const { verdict } = await checkRootPolicy([], root, rootBytes.bytes.length, o.policy, cache);
  const packages: FetchClosureResult['packages'] = [];
  const seen = new Set<Digest>([root]);
  const queue: Digest[] = [root];
  let total = 0;
  for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
    const { bytes } = d === root ? rootBytes : await fetchManifestBytes([], d, limits.maxManifestBytes, cache);
    const m = readManifestSkeleton(bytes, d);
    if (!present.has(packageDirName(d, m.name))) return undefined;
    packages.push({ digest: d, name: m.name, path: packagePath(o.stateDir, d, m.name) });
    total += m.fileBytes;
    if (total > limits.maxClosureBytes) throw new SizeLimitError(`closure ${root}: more than ${limits.maxClosureBytes} bytes of files`, { object: root });
    for (const r of m.references) {
      if (seen.has(r)) continue;
      seen.add(r);
      if (seen.size > limits.maxPackages) throw new SizeLimitError(`closure ${root}: more than ${limits.maxPackages} packages`, { object: root });
      queue.push(r);
    }
  }
  return { packages, bytesFetched: 0, objectsFetched: 0, requests: 0, packsFetched: 0, packFallbacks: 0, verdict };
}
