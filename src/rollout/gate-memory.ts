import { StatusListing } from '../status/status-listing.js';
import type { DoneMemory } from './batch-statuses.js';

/**
 * What one agent process remembers between gate decisions, across the ticks of its life: per set, the
 * status listing (etags and the files read under them), and per set the machines seen done in its
 * current rollout. A new rollout of a set (another target) starts its done memory empty. Keep one per
 * agent process, like the lease observer; a fresh one costs one full read of the batches a machine needs.
 */
export class GateMemory {
  private readonly listings = new Map<string, StatusListing>();
  private readonly done = new Map<string, { rolloutId: string; machines: DoneMemory; followingSinceMs?: number }>();

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
