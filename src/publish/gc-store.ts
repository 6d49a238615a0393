import { PreconditionFailedError } from '../errors/index.js';
import { digestFromHex, isDigest, type Digest } from '../store/digest.js';
import { PACK_HINTS_PREFIX, PINS_PREFIX, packHintKey } from '../store/keys.js';
import { MAX_PACK_HINT_BYTES, packDigestsOfHint } from '../packages/pack-format.js';
import { listAll, type ObjectInfo, type Store } from '../store/store.js';
import { readClosureManifests } from '../fetch/read-closure.js';

export interface GcStoreOptions {
  /** Objects younger than this are never deleted (a push in flight). */
  olderThanMs: number;
  dryRun?: boolean;
  /** More roots, e.g. every closure named in the deploy repo's recent history. */
  extraRoots?: Digest[];
  now?: Date;
}

export interface GcStoreResult {
  roots: Digest[];
  reachableObjects: number;
  deleted: string[];
  deletedBytes: number;
  keptYoung: number;
  dryRun: boolean;
}

/**
 * The packs a live manifest's hint names (kept with it). A missing or unreadable hint keeps none: its
 * packs are of no use to a reader then, so they are collected like any unreachable object.
 */
async function packsOf(store: Store, manifest: Digest): Promise<Digest[]> {
  try {
    return packDigestsOfHint(await store.getBytes(packHintKey(manifest), { maxBytes: MAX_PACK_HINT_BYTES })) ?? [];
  } catch (err) {
    if (store.isNotFound(err)) return [];
    throw err;
  }
}

async function readRoots(store: Store): Promise<Digest[]> {
  const roots: Digest[] = [];
  for await (const o of listAll(store, PINS_PREFIX)) {
    const text = (await store.getBytes(o.key, { maxBytes: 1024 })).toString('utf8').trim();
    // A malformed pin would make GC guess; refuse to collect anything instead.
    if (!isDigest(text)) throw new PreconditionFailedError(`pin ${o.key} does not hold a digest; fix or remove it before GC`, { key: o.key });
    roots.push(text);
  }
  for await (const o of listAll(store, 'flags/deployable/')) {
    const hex = o.key.slice('flags/deployable/'.length);
    let revoked = false;
    try {
      revoked = (JSON.parse((await store.getBytes(o.key, { maxBytes: 4096 })).toString('utf8')) as { state?: unknown }).state === 'revoked';
    } catch {
      revoked = false; // unreadable flags keep their closure: GC errs on the side of keeping
    }
    if (!revoked && /^[0-9a-f]{64}$/.test(hex)) roots.push(digestFromHex(hex));
  }
  return roots;
}

async function collect(store: Store, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of listAll(store, prefix)) out.push(o);
  return out;
}

/**
 * Deletes objects (and the signatures and pack hints of deleted manifests) unreachable from pins, promoted
 * (not revoked) deployable flags and `extraRoots` (a live manifest's hint keeps its packs), and older than
 * the grace period by the store's lastModified (unknown age counts as young). Any root whose closure (or
 * live hint) cannot be read aborts the whole GC before deleting anything. Returns what was (or, with dryRun, would be) deleted. Throws the closure-read and store errors.
 */
export async function gcStore(store: Store, options: GcStoreOptions): Promise<GcStoreResult> {
  const roots = [...new Set([...(await readRoots(store)), ...(options.extraRoots ?? [])])].sort();
  const reachable = new Set<string>();
  for (const root of roots) {
    if (reachable.has(root)) continue;
    const closure = await readClosureManifests([store], root);
    for (const p of closure.packages) {
      if (reachable.has(p.digest)) continue;
      reachable.add(p.digest);
      for (const e of p.manifest.entries) if (e.type === 'file' && e.data === undefined) reachable.add(e.digest);
      for (const d of await packsOf(store, p.digest)) reachable.add(d);
    }
  }
  const cutoff = (options.now ?? new Date()).getTime() - options.olderThanMs;
  const old = (d?: Date): boolean => d !== undefined && d.getTime() < cutoff;
  const result: GcStoreResult = { roots, reachableObjects: reachable.size, deleted: [], deletedBytes: 0, keptYoung: 0, dryRun: options.dryRun ?? false };
  const victims: Array<{ key: string; size: number }> = [];
  for await (const o of listAll(store, 'objects/sha256/')) {
    const hex = o.key.split('/').pop() ?? '';
    if (/^[0-9a-f]{64}$/.test(hex) && reachable.has(`sha256:${hex}`)) continue;
    if (!old(o.lastModified)) result.keptYoung++;
    else victims.push({ key: o.key, size: o.size });
  }
  // Signatures and pack hints go with their manifest.
  for (const o of [...(await collect(store, 'signatures/sha256/')), ...(await collect(store, PACK_HINTS_PREFIX))]) {
    const hex = o.key.split('/')[2] ?? '';
    if (reachable.has(`sha256:${hex}`)) continue;
    if (!old(o.lastModified)) result.keptYoung++;
    else victims.push({ key: o.key, size: o.size });
  }
  for (const v of victims) {
    if (!result.dryRun) await store.delete(v.key);
    result.deleted.push(v.key);
    result.deletedBytes += v.size;
  }
  return result;
}
