import { StatusListing } from '../status/status-listing.js';
import type { ClosureRef } from '../store/closure-ref.js';
import type { Store } from '../store/store.js';
import type { DoneMemory } from './batch-statuses.js';
import { readQuarantine } from './quarantine.js';
import type { QuarantineRecord } from './quarantine-record.js';

/**
 * What one agent process remembers between gate decisions, across the ticks of its life: per set, the
 * status listing (etags and the files read under them), and per set the machines seen done in its
 * current rollout. A new rollout of a set (another target) starts its done memory empty. Keep one per
 * agent process, like the lease observer; a fresh one costs one full read of the batches a machine needs.
 */
export class GateMemory {
  private readonly listings = new Map<string, StatusListing>();
  private readonly done = new Map<string, { rolloutId: string; machines: DoneMemory; followingSinceMs?: number }>();
  private readonly quarantines = new Map<string, { digest: ClosureRef; record: QuarantineRecord | null; readAtMs: number }>();

  /**
   * The quarantine record of `digest` in `set`: read again when the one remembered is older than `maxAgeMs`
   * (monotonic `nowMs`), else the remembered one with its age. `maxAgeMs` 0 always reads. Throws store errors.
   */
  async quarantine(store: Store, set: string, digest: ClosureRef, nowMs: number, maxAgeMs: number): Promise<{ record: QuarantineRecord | null; fresh: boolean }> {
    const cur = this.quarantines.get(set);
    if (cur !== undefined && cur.digest === digest && nowMs - cur.readAtMs < maxAgeMs) return { record: cur.record, fresh: false };
    const record = await readQuarantine(store, set, digest);
    this.quarantines.set(set, { digest, record, readAtMs: nowMs });
    return { record, fresh: true };
  }

  /** The status listing of `set` (created empty on first use). */
  listing(set: string): StatusListing {
    let l = this.listings.get(set);
    if (l === undefined) {
      l = new StatusListing(set);
      this.listings.set(set, l);
    }
    return l;
  }

  /** The machines seen done in rollout `rolloutId` of `set`; forgets the set's previous rollout. */
  doneIn(set: string, rolloutId: string): DoneMemory {
    const cur = this.done.get(set);
    if (cur?.rolloutId === rolloutId) return cur.machines;
    const fresh = { rolloutId, machines: new Map() as DoneMemory };
    this.done.set(set, fresh);
    return fresh.machines;
  }

  /** When (monotonic ms) this machine began following the batch before its own in this rollout. */
  followingSince(set: string, rolloutId: string, nowMs: number): number {
    this.doneIn(set, rolloutId);
    const cur = this.done.get(set);
    if (cur === undefined) return nowMs;
    cur.followingSinceMs ??= nowMs;
    return cur.followingSinceMs;
  }
}
