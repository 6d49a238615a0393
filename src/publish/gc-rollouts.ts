import type { Declarations } from '../declarations/types.js';
import { rolloutIdFor } from '../rollout/planner.js';
import { setLeasesPrefix } from '../store/keys.js';
import { listAll, type Store } from '../store/store.js';

/** What rollout GC did (or, with dryRun, would do). */
export interface GcRolloutsResult {
  /** Rollouts (`SET/ROLLOUT`) over and idle past the grace period whose lease objects were deleted. */
  deleted: string[];
  /** How many lease objects (slots, tombstones, token counters) those held. */
  deletedKeys: number;
  /** Rollouts over but touched within the grace period (or of unknown age), kept for now. */
  keptYoung: string[];
}

/**
 * Deletes the lease objects (`leases/SET/ROLLOUT/slot-N`, `…/token`) of rollouts that are over: a rollout
 * is a set and a target digest, so every rollout of a declared set other than the one for its desired
 * digest at this revision is finished. A finished rollout goes only when every one of its objects is older
 * than `olderThanMs` (by the store's lastModified; unknown age counts as young), so a machine still
 * finishing its switch on a just-replaced target keeps its slot; its next renewal then fails as a lost
 * slot would. The current rollout of every set is never touched, and sets no longer declared are left alone.
 * Throws store errors.
 */
export async function gcFinishedRollouts(store: Store, decls: Declarations, options: { olderThanMs: number; dryRun?: boolean; now?: Date }): Promise<GcRolloutsResult> {
  const cutoff = (options.now ?? new Date()).getTime() - options.olderThanMs;
  const result: GcRolloutsResult = { deleted: [], deletedKeys: 0, keptYoung: [] };
  for (const set of decls.sets.values()) {
    const current = rolloutIdFor(set.name, set.closure);
    const prefix = setLeasesPrefix(set.name);
    const byRollout = new Map<string, { keys: string[]; young: boolean }>();
    for await (const o of listAll(store, prefix)) {
      const rollout = o.key.slice(prefix.length).split('/')[0];
      if (rollout === undefined || rollout === '' || rollout === current) continue;
      const entry = byRollout.get(rollout) ?? { keys: [], young: false };
      entry.keys.push(o.key);
      entry.young ||= o.lastModified === undefined || o.lastModified.getTime() >= cutoff;
      byRollout.set(rollout, entry);
    }
    for (const [rollout, { keys, young }] of [...byRollout].sort(([a], [b]) => a.localeCompare(b))) {
      const name = `${set.name}/${rollout}`;
      if (young) {
        result.keptYoung.push(name);
        continue;
      }
      if (options.dryRun !== true) for (const k of keys) await store.delete(k);
      result.deleted.push(name);
      result.deletedKeys += keys.length;
    }
  }
  return result;
}
