import type { Declarations } from '../declarations/types.js';
import { rolloutIdFor } from '../rollout/planner.js';
import { collectOldRollouts } from '../rollout/collect-rollouts.js';
import type { Store } from '../store/store.js';

/** What rollout GC did (or, with dryRun, would do). */
export interface GcRolloutsResult {
  /** Rollouts (`SET/ROLLOUT`) over and idle past the grace period whose lease objects were deleted. */
  deleted: string[];
  /** How many objects (slots, tombstones, token counters, Ready markers) those held. */
  deletedKeys: number;
  /** Rollouts over but touched within the grace period (or of unknown age), kept for now. */
  keptYoung: string[];
}

/**
 * Deletes the lease objects and Ready markers of rollouts that are over, for every declared set (collectOldRollouts, which
 * the fleet's own machines also run as a rollout completes): every rollout of a declared set other than the
 * one for its desired digest at this revision is finished, and goes once all its objects are past the
 * grace. The current rollout of every set is never touched, and sets no longer declared are left alone.
 * Throws store errors.
 */
export async function gcFinishedRollouts(store: Store, decls: Declarations, options: { olderThanMs: number; dryRun?: boolean; now?: Date }): Promise<GcRolloutsResult> {
  const result: GcRolloutsResult = { deleted: [], deletedKeys: 0, keptYoung: [] };
  for (const set of decls.sets.values()) {
    const r = await collectOldRollouts(store, set.name, rolloutIdFor(set.name, set.closure), { olderThanMs: options.olderThanMs, now: options.now ?? new Date(), ...(options.dryRun === true ? { dryRun: true } : {}) });
    result.deleted.push(...r.deleted);
    result.deletedKeys += r.deletedKeys;
    result.keptYoung.push(...r.keptYoung);
  }
  return result;
}
