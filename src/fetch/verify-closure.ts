import { createHash } from 'node:crypto';
import { FlotillaError, IntegrityError } from '../errors/index.js';
import { digestFromHex, type Digest } from '../store/digest.js';
import { objectKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { runPool } from '../util/run-pool.js';
import type { ManifestLimits } from '../packages/limits.js';
import type { PolicyVerdict, PublisherPolicy } from '../trust/manifest-policy.js';
import { readClosureManifests } from './read-closure.js';

/** One object that failed verification, and why. */
export interface VerifyFailure {
  object: string;
  code: string;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  root: Digest;
  packages: Array<{ digest: Digest; name: string }>;
  objectsChecked: number;
  bytesChecked: number;
  signers: string[];
  failures: VerifyFailure[];
}

async function hashRemote(store: Store, d: Digest, size: number, signal?: AbortSignal): Promise<void> {
  const src = await store.get(objectKey(d), signal ? { maxBytes: size, signal } : { maxBytes: size });
  const h = createHash('sha256');
  let n = 0;
  for await (const c of src) {
    n += (c as Buffer).length;
    h.update(c as Buffer);
  }
  const actual = digestFromHex(h.digest('hex'));
  if (n !== size || actual !== d) throw new IntegrityError(`object ${d}: ${n} bytes hashing to ${actual}`, { object: d, actual });
}

/**
 * Verifies a closure in one store without keeping anything: policy on the root (when given), every
 * manifest, and every file object re-hashed while streamed (never buffered whole). Manifest and policy
 * failures throw (nothing else can be trusted); object failures are collected so the report names each one.
 */
export async function verifyClosure(store: Store, digest: string, o: { policy?: PublisherPolicy; limits?: Partial<ManifestLimits>; concurrency?: number; signal?: AbortSignal } = {}): Promise<VerifyReport> {
  const closure = await readClosureManifests([store], digest, { ...(o.policy ? { policy: o.policy } : {}), ...(o.limits ? { limits: o.limits } : {}), ...(o.signal ? { signal: o.signal } : {}) });
  const objects = new Map<Digest, number>();
  for (const p of closure.packages) for (const e of p.manifest.entries) if (e.type === 'file' && e.data === undefined) objects.set(e.digest, e.size);
  const failures: VerifyFailure[] = [];
  let bytes = 0;
  await runPool([...objects], o.concurrency ?? 16, async ([d, size]) => {
    try {
      await hashRemote(store, d, size, o.signal);
      bytes += size;
    } catch (err) {
      const code = store.isNotFound(err) ? 'NotFoundError' : err instanceof FlotillaError ? err.code : 'IntegrityError';
      failures.push({ object: d, code, message: err instanceof Error ? err.message : String(err) });
    }
  });
  failures.sort((x, y) => (x.object < y.object ? -1 : 1));
  const verdict: PolicyVerdict | undefined = closure.verdict;
  return {
    ok: failures.length === 0,
    root: closure.root,
    packages: closure.packages.map((p) => ({ digest: p.digest, name: p.manifest.name })),
    objectsChecked: objects.size,
    bytesChecked: bytes,
    signers: verdict?.signers ?? [],
    failures,
  };
}
