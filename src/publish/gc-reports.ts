import type { Declarations } from '../declarations/types.js';
import { removedFromSet } from '../rollout/set-plan.js';
import { DEFAULT_STALE_AFTER_MS } from '../status/readiness.js';
import { readSetStatuses } from '../status/status-io.js';
import { statusKey, statusPrefix } from '../store/keys.js';
import { listAll, type Store } from '../store/store.js';

/** What report GC did (or, with dryRun, would do). */
export interface GcReportsResult {
  /** Keys of removed machines' reports older than the grace period. */
  deleted: string[];
  /** Keys of removed machines' reports still within the grace period (or of unknown age). */
  keptYoung: string[];
}

/**
 * Deletes `status/SET/MACHINE.json` of machines that left a set declared in `decls` (removedFromSet: not a
 * member at that revision and, for a label selector, no fresh report), once the store's lastModified of the
 * report is older than `olderThanMs` (unknown age counts as young). A member's report is never touched,
 * however old: it is what the gate reads. Sets no longer declared are left alone. Throws store errors.
 */
export async function gcRemovedReports(store: Store, decls: Declarations, options: { olderThanMs: number; dryRun?: boolean; now?: Date }): Promise<GcReportsResult> {
  const now = options.now ?? new Date();
  const cutoff = now.getTime() - options.olderThanMs;
  const result: GcReportsResult = { deleted: [], keptYoung: [] };
  for (const set of decls.sets.values()) {
    const statuses = await readSetStatuses(store, set.name);
    const removed = new Set(removedFromSet(decls, set, statuses, now, DEFAULT_STALE_AFTER_MS).map((m) => statusKey(set.name, m)));
    if (removed.size === 0) continue;
    for await (const o of listAll(store, statusPrefix(set.name))) {
      if (!removed.has(o.key)) continue;
      if (o.lastModified === undefined || o.lastModified.getTime() >= cutoff) {
        result.keptYoung.push(o.key);
        continue;
      }
      if (options.dryRun !== true) await store.delete(o.key);
      result.deleted.push(o.key);
    }
  }
  return result;
}
