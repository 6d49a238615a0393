import { lstat, mkdir } from 'node:fs/promises';
import { IntegrityError } from '../errors/index.js';
import { hashBytes } from '../packages/manifest-codec.js';
import { join } from 'node:path';
import type { Digest } from '../store/digest.js';
import type { Store } from '../store/store.js';
import type { ManifestLimits } from '../packages/limits.js';
import type { LoadedManifest } from '../packages/manifest-types.js';
import { runPool } from '../packages/run-pool.js';
import type { PolicyVerdict, PublisherPolicy } from '../trust/manifest-policy.js';
import { countRequests, type RequestCounter } from './counting-store.js';
import { fetchObject } from './fetch-object.js';
import { materialisePackage, packageDirName, removeStalePartials } from './materialise-package.js';
import { ensureExecutableVariant, hasObject, openObjectCache, writeVerified, type ObjectCache } from './object-cache.js';
import { readClosureManifests } from './read-closure.js';

/** Progress of a fetch, reported after each object and phase change. */
export interface FetchProgress {
  phase: 'manifests' | 'objects' | 'materialise' | 'done';
  bytesDone: number;
  bytesTotal: number;
  objectsDone: number;
  objectsTotal: number;
}

export interface FetchClosureOptions {
  /** Mirrors, tried in order for every object. */
  stores: Store[];
  digest: Digest | string;
  policy: PublisherPolicy;
  stateDir: string;
  signal?: AbortSignal;
  /** Parallel object downloads (default 16: hides S3 latency without flooding a small disk). */
  concurrency?: number;
  onProgress?: (p: FetchProgress) => void;
  limits?: Partial<ManifestLimits>;
  /** Deadline per object and store attempt (default 60 s + 1 s per 256 KiB). */
  objectTimeoutMs?: number;
  /** fsync objects and directories (default true). */
  durable?: boolean;
}

export interface FetchedPackage {
  digest: Digest;
  name: string;
  path: string;
}

export interface FetchClosureResult {
  packages: FetchedPackage[];
  bytesFetched: number;
  objectsFetched: number;
  requests: number;
  verdict?: PolicyVerdict;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

interface Wanted {
  digest: Digest;
  size: number;
}

async function planObjects(cache: ObjectCache, todo: LoadedManifest[], durable: boolean): Promise<{ wanted: Wanted[]; execs: Wanted[] }> {
  const wanted = new Map<Digest, Wanted>();
  const execs = new Map<Digest, Wanted>();
  const inline = new Map<Digest, string>();
  for (const p of todo) {
    for (const e of p.manifest.entries) {
      if (e.type !== 'file') continue;
      if (e.data !== undefined) inline.set(e.digest, e.data);
      else wanted.set(e.digest, { digest: e.digest, size: e.size });
      if (e.executable) execs.set(e.digest, { digest: e.digest, size: e.size });
    }
  }
  // Inline data was verified with its manifest (size, canonical base64) but not hashed yet: hash it now.
  const toWrite: Array<[Digest, Buffer]> = [];
  for (const [d, data] of inline) {
    const bytes = Buffer.from(data, 'base64');
    if (await hasObject(cache, d, bytes.length)) continue;
    const actual = hashBytes(bytes);
    if (actual !== d) throw new IntegrityError(`inline data for ${d} hashes to ${actual}`, { object: d, actual });
    toWrite.push([d, bytes]);
  }
  for (const [d, bytes] of toWrite) await writeVerified(cache, d, bytes, durable);
  const missing: Wanted[] = [];
  await runPool([...wanted.values()], 64, async (w) => {
    if (!(await hasObject(cache, w.digest, w.size))) missing.push(w);
  });
  return { wanted: missing, execs: [...execs.values()] };
}

/**
 * Fetches the closure of `digest` into stateDir and materialises each package read-only at
 * stateDir/store/<hex>-<name>/. Order: root manifest bytes → policy (signatures, deployable flag) → parse
 * every manifest of the closure → fetch missing objects (bounded parallelism, mirrors in order, each hashed
 * while streaming) → materialise. Nothing is materialised unless every object verified; already
 * materialised packages are reused. Throws InvalidDigestError, SignatureError, PolicyError, ManifestError,
 * SizeLimitError, IntegrityError / NotFoundError / TransportError naming the object and each store's reason.
 */
export async function fetchClosure(options: FetchClosureOptions): Promise<FetchClosureResult> {
  const counter: RequestCounter = { requests: 0 };
  const stores = options.stores.map((s) => countRequests(s, counter));
  const durable = options.durable ?? true;
  const storeDir = join(options.stateDir, 'store');
  await mkdir(storeDir, { recursive: true });
  const cache = await openObjectCache(options.stateDir);
  await removeStalePartials(storeDir);
  const progress: FetchProgress = { phase: 'manifests', bytesDone: 0, bytesTotal: 0, objectsDone: 0, objectsTotal: 0 };
  options.onProgress?.({ ...progress });
  const closure = await readClosureManifests(stores, options.digest, {
    policy: options.policy,
    cache,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const todo: LoadedManifest[] = [];
  for (const p of closure.packages) if (!(await isDir(join(storeDir, packageDirName(p))))) todo.push(p);
  const { wanted, execs } = await planObjects(cache, todo, durable);
  progress.phase = 'objects';
  progress.objectsTotal = wanted.length;
  progress.bytesTotal = wanted.reduce((a, w) => a + w.size, 0);
  options.onProgress?.({ ...progress });
  await runPool(wanted, options.concurrency ?? 16, async (w) => {
    await fetchObject(stores, cache, w.digest, w.size, {
      durable,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.objectTimeoutMs ? { timeoutMs: options.objectTimeoutMs } : {}),
      onBytes: (n) => {
        progress.bytesDone += n;
      },
    });
    progress.objectsDone += 1;
    options.onProgress?.({ ...progress });
  });
  progress.phase = 'materialise';
  options.onProgress?.({ ...progress });
  await runPool(execs, 16, (w) => ensureExecutableVariant(cache, w.digest, w.size));
  const packages: FetchedPackage[] = [];
  for (const p of closure.packages) {
    const path = await materialisePackage(storeDir, cache, p, durable);
    packages.push({ digest: p.digest, name: p.manifest.name, path });
  }
  progress.phase = 'done';
  options.onProgress?.({ ...progress });
  const result: FetchClosureResult = { packages, bytesFetched: progress.bytesTotal, objectsFetched: wanted.length, requests: counter.requests };
  if (closure.verdict) result.verdict = closure.verdict;
  return result;
}
