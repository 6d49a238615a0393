import { setLeasesPrefix, setReadyPrefix } from '../store/keys.js';
import { listAll, type Store } from '../store/store.js';

/** What collecting a set's old rollouts did (or, with dryRun, would do). */
export interface CollectResult {
  /** Rollouts (`SET/ROLLOUT`) idle past the grace period whose lease objects were deleted (all of them). */
  deleted: string[];
  /** How many objects (slots, tombstones, token counters, Ready markers) were deleted. */
  deletedKeys: number;
  /** Rollouts over but touched within the grace period (or of unknown age), kept for now. */
  keptYoung: string[];
  /** True when `maxDeletes` stopped the work: more old objects remain for the next call. */
  more: boolean;
}

/** Options of collectOldRollouts. */
export interface CollectOptions {
  olderThanMs: number;
  now: Date;
  dryRun?: boolean;
  /** Deletes at most this many objects per call (a machine's share of the work per tick); default no limit. */
  maxDeletes?: number;
}

/**
 * Deletes the lease objects (`leases/SET/ROLLOUT/slot-N`, `…/token`) and Ready markers (`ready/SET/ROLLOUT/…`:
 * deleting one only ever makes a gate wait or read status files) of every rollout of `set` other than
 * `current` (a rollout is a set and a target digest: once the set desires another digest, its old rollouts
 * are over). A rollout goes only when every one of its objects is older than `olderThanMs` by the store's
 * lastModified (unknown age counts as young), so a machine still finishing its switch on a just-replaced
 * target keeps its slot; its next renewal then fails as a lost slot would. Safe when several machines
 * collect at once: deleting a missing key is not an error, and what is left old stays old for the next
 * call. One listing of the set's lease prefix and one of its Ready prefix, then one delete per object.
 * Throws store errors.
 */
export async function collectOldRollouts(store: Store, set: string, current: string, o: CollectOptions): Promise<CollectResult> {
  const cutoff = o.now.getTime() - o.olderThanMs;
  const result: CollectResult = { deleted: [], deletedKeys: 0, keptYoung: [], more: false };
  const byRollout = new Map<string, { keys: string[]; young: boolean }>();
  for (const prefix of [setLeasesPrefix(set), setReadyPrefix(set)]) {
    for await (const obj of listAll(store, prefix)) {
      const rollout = obj.key.slice(prefix.length).split('/')[0];
      if (rollout === undefined || rollout === '' || rollout === current) continue;
      const entry = byRollout.get(rollout) ?? { keys: [], young: false };
      entry.keys.push(obj.key);
      entry.young ||= obj.lastModified === undefined || obj.lastModified.getTime() >= cutoff;
      byRollout.set(rollout, entry);
    }
  }
  let budget = o.maxDeletes ?? Number.POSITIVE_INFINITY;
  for (const [rollout, { keys, young }] of [...byRollout].sort(([a], [b]) => a.localeCompare(b))) {
    const name = `${set}/${rollout}`;
    if (young) {
      result.keptYoung.push(name);
      continue;
    }
    if (budget <= 0) {
      result.more = true;
      continue;
    }
    const batch = keys.slice(0, budget);
    if (o.dryRun !== true) for (const k of batch) await store.delete(k);
    budget -= batch.length;
    result.deletedKeys += batch.length;
    if (batch.length === keys.length) result.deleted.push(name);
    else result.more = true;
  }
  return result;
}
