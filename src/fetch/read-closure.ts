import { existsSync } from 'node:fs';
import { SizeLimitError } from '../errors/index.js';
import { parseDigest, type Digest } from '../store/digest.js';
import type { Store } from '../store/store.js';
import { resolveLimits, type ManifestLimits } from '../packages/limits.js';
import { checkDecodedManifest, decodeCachedManifest, decodeManifestBytes } from '../packages/manifest-codec.js';
import type { LoadedManifest } from '../packages/manifest-types.js';
import type { PolicyVerdict, PublisherPolicy } from '../trust/manifest-policy.js';
import { beginRootPolicy, type RootPolicy } from './closure-policy.js';
import { fetchManifestBytes } from './fetch-manifest.js';
import { writeSignatures, writeVerified } from './manifest-cache.js';
import type { ObjectCache } from './object-cache.js';

export interface ReadClosureOptions {
  /** When given, the root's signatures (and deployable flag) are checked over its exact bytes before anything is parsed. */
  policy?: PublisherPolicy;
  limits?: Partial<ManifestLimits>;
  signal?: AbortSignal;
  /** Local cache to read manifests and the root's signatures from and write them to (closure-policy.ts). */
  cache?: ObjectCache;
  /**
   * Called with each manifest once it parsed and the root's policy holds (never before: a caller may
   * then ask the stores about it), so that work on a package can start while the rest are read.
   */
  onManifest?: (loaded: LoadedManifest) => void;
  /**
   * Returns as soon as the closure verified, its manifests and signatures still being written into the
   * cache: the caller awaits `cached` (before it returns, on failure too) rather than spend the writes'
   * ~10 ms between the last manifest and its first object request.
   */
  cacheLater?: boolean;
  /**
   * Called with a manifest's digest as soon as it is asked of the stores (not read from the cache): the
   * root's at once, the others once the root's policy holds. Its digest is the closure's (the root's is
   * the caller's own, the others come from hashed, signed bytes), so a caller may ask the stores about it
   * too (a pack hint) while its bytes travel; nothing about its contents is known yet.
   */
  onRequest?: (digest: Digest) => void;
}

/**
 * Manifests read ahead of the one being parsed: a level of references is asked for at once rather than
 * one round trip after another, and a big manifest's parse overlaps the next ones' transfer.
 */
const READ_AHEAD = 8;

/** Every manifest of a closure, root first, and the policy verdict on the root. */
export interface ClosureManifests {
  root: Digest;
  packages: LoadedManifest[];
  verdict?: PolicyVerdict;
  /** With `cacheLater`: the cache writes, settled once done (rejected with their first failure). */
  cached?: Promise<void>;
}

/**
 * Reads and verifies the manifests of the closure of `digest` (root, then references breadth-first, each
 * once). Only the root is checked against the policy: its signed bytes name its references by hash, and
 * every manifest read is hash-checked, so the whole closure is authenticated through the root. With a
 * cache holding every manifest and root signatures that meet the policy, no store is asked anything
 * (unless the policy wants the deployable flag, which is always read).
 * Bounded by limits.maxPackages and maxClosureBytes. Throws InvalidDigestError, SignatureError, PolicyError,
 * ManifestError, SizeLimitError, or the fetch errors naming the manifest.
 */
export async function readClosureManifests(stores: Store[], digest: string, options: ReadClosureOptions = {}): Promise<ClosureManifests> {
  const root = parseDigest(digest, 'closure digest');
  const limits = resolveLimits(options.limits);
  const packages: LoadedManifest[] = [];
  const seen = new Set<Digest>([root]);
  const queue: Digest[] = [root];
  let policyCheck: Promise<RootPolicy> | undefined;
  let total = 0;
  const fresh: LoadedManifest[] = [];
  // While the root's policy check is in flight, only our cache is read: it holds only manifests that
  // passed before, and decoding them overlaps the signature round trip (most of a no-op fetch). Nothing
  // is asked of the stores, or parsed from them, before the policy holds.
  // The cache is looked in once, and a manifest it lacks is known so at once: a synchronous lstat of a
  // missing name costs microseconds, a look through libuv's pool a round trip that, while this thread
  // checks the manifest before, holds the request back by milliseconds. (Should another fetch cache the
  // manifest meanwhile, it is merely read from the store once more.)
  const readOne = async (d: Digest): Promise<{ bytes: Buffer; cached: boolean }> => {
    const cache = options.cache !== undefined && existsSync(options.cache.path(d)) ? options.cache : undefined;
    const got = cache ? await fetchManifestBytes([], d, limits.maxManifestBytes, cache).catch(() => undefined) : undefined;
    if (got !== undefined) return got;
    await policyCheck;
    const bytes = fetchManifestBytes(stores, d, limits.maxManifestBytes, undefined, options.signal);
    options.onRequest?.(d);
    return bytes;
  };
  const reads = new Map<Digest, Promise<{ bytes: Buffer; cached: boolean }>>();
  const read = (d: Digest): Promise<{ bytes: Buffer; cached: boolean }> => {
    let p = reads.get(d);
    if (p === undefined) {
      p = readOne(d);
      // A read ahead may fail after the closure was refused for another reason: only its own turn reports it.
      p.catch(() => undefined);
      reads.set(d, p);
    }
    return p;
  };
  // The root's signature is asked for beside its bytes, not after them (beginRootPolicy).
  void read(root);
  const rootPolicy = options.policy ? beginRootPolicy(stores, root, options.policy, options.cache, options.signal) : undefined;
  for (let k = 0; k < queue.length; k++) {
    const d = queue[k] as Digest;
    for (const ahead of queue.slice(k + 1, k + READ_AHEAD)) void read(ahead);
    const { bytes, cached } = await read(d);
    reads.delete(d);
    if (d === root && rootPolicy) {
      policyCheck = rootPolicy(bytes.length);
      policyCheck.catch(() => undefined); // awaited later; this only keeps an early failure from going unhandled
      if (!cached) await policyCheck;
    }
    let loaded: LoadedManifest;
    if (cached) loaded = decodeCachedManifest(bytes, d);
    else {
      // A fresh manifest's references are asked for as soon as its bytes hashed right and decoded, before its
      // tree rules and canonical form are checked: their digests are in bytes the root's signature covers
      // through hashes, so only the requests are early (at most READ_AHEAD, none past the references'
      // limit), and nothing read is used before its own turn.
      const decoded = decodeManifestBytes(bytes, d, limits);
      const refs = decoded.manifest.references;
      const early = refs.length <= limits.maxReferences ? refs.filter((r) => !seen.has(r) && !reads.has(r)).slice(0, READ_AHEAD) : [];
      for (const r of early) void read(r);
      // One turn of the event loop, so those requests (several promise steps each) go out before this
      // thread spends milliseconds on the checks.
      if (early.length > 0) await new Promise<void>((res) => setImmediate(res));
      loaded = checkDecodedManifest(decoded, limits);
    }
    packages.push(loaded);
    if (!cached) fresh.push(loaded);
    for (const e of loaded.manifest.entries) if (e.type === 'file') total += e.size;
    if (total > limits.maxClosureBytes) throw new SizeLimitError(`closure ${root}: more than ${limits.maxClosureBytes} bytes of files`, { object: root });
    for (const r of loaded.manifest.references) {
      if (seen.has(r)) continue;
      seen.add(r);
      if (seen.size > limits.maxPackages) throw new SizeLimitError(`closure ${root}: more than ${limits.maxPackages} packages`, { object: root });
      queue.push(r);
    }
    const onManifest = options.onManifest;
    if (onManifest) void Promise.resolve(policyCheck).then(() => onManifest(loaded), () => undefined);
  }
  const checked = await policyCheck;
  const verdict: PolicyVerdict | undefined = checked?.verdict;
  // Cached only now: a closure refused anywhere leaves nothing outside the cache's temp area.
  let writes: Promise<void> | undefined;
  if (options.cache) {
    // At once: each is a temp file renamed into its shard, independent of the others.
    const cache = options.cache;
    writes = Promise.all([...fresh.map((p) => writeVerified(cache, p.digest, p.bytes)), ...(checked && checked.fresh.length > 0 ? [writeSignatures(cache, root, checked.fresh)] : [])]).then(() => undefined);
    if (options.cacheLater !== true) await writes;
    else writes.catch(() => undefined); // the caller awaits it, maybe after it failed: not an unhandled rejection
  }
  const result: ClosureManifests = verdict ? { root, packages, verdict } : { root, packages };
  if (options.cacheLater === true) result.cached = writes ?? Promise.resolve();
  return result;
}
