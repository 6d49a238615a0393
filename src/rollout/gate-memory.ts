import { StatusListing } from '../status/status-listing.js';
import type { ClosureRef } from '../store/closure-ref.js';
import type { Store } from '../store/store.js';
import type { DoneMemory } from './batch-statuses.js';
import type { GateDecision } from './gate.js';
import { listRolloutMarkers } from './ready-marker.js';
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
  private readonly done = new Map<string, { rolloutId: string; machines: DoneMemory; followingSinceMs?: number; firstSeenMs?: number }>();
  private readonly quarantines = new Map<string, { digest: ClosureRef; record: QuarantineRecord | null; readAtMs: number }>();
  private readonly listedAt = new Map<string, number>();
  private readonly markers = new Map<string, { rolloutId: string; marked: Map<string, number | undefined>; switching: Map<string, number | undefined>; listedAtMs: number }>();
  private readonly holds = new Map<string, { key: string; untilMs: number; decision: GateDecision }>();
  private readonly turnHolds = new Map<string, { key: string; untilMs: number; message: string }>();
  private readonly turnReadAt = new Map<string, number>();

  /**
   * The Ready markers of `rolloutId` in `set` (machine → marker time): listed again when the last listing
   * is `maxAgeMs` old or more (monotonic `nowMs`; 0 always lists). Throws store errors.
   */
  async readyMarkers(store: Store, set: string, rolloutId: string, nowMs: number, maxAgeMs: number): Promise<ReadonlyMap<string, number | undefined>> {
    const cur = this.markers.get(set);
    if (cur !== undefined && cur.rolloutId === rolloutId && nowMs - cur.listedAtMs < maxAgeMs) return cur.marked;
    const { ready: marked, switching } = await listRolloutMarkers(store, set, rolloutId);
    this.markers.set(set, { rolloutId, marked, switching, listedAtMs: nowMs });
    return marked;
  }

  /** The switching markers of `rolloutId` in `set` from readyMarkers' last listing (empty before one). */
  switchingMarkers(set: string, rolloutId: string): ReadonlyMap<string, number | undefined> {
    const cur = this.markers.get(set);
    return cur !== undefined && cur.rolloutId === rolloutId ? cur.switching : new Map();
  }

  /** Refreshes the status listing of `set` unless it was refreshed less than `maxAgeMs` ago (0: always). */
  async refreshListing(store: Store, set: string, nowMs: number, maxAgeMs: number): Promise<void> {
    const at = this.listedAt.get(set);
    if (at !== undefined && nowMs - at < maxAgeMs) return;
    await this.listing(set).refresh(store);
    this.listedAt.set(set, nowMs);
  }

  /**
   * Keeps a waiting gate decision of `set` for `key` (the rollout and batch it was made for) until
   * monotonic `untilMs`: before then the batch it waits for cannot be done, and heldDecision answers it
   * without a request.
   */
  holdDecision(set: string, key: string, untilMs: number, decision: GateDecision): void {
    this.holds.set(set, { key, untilMs, decision });
  }

  /** The decision held for `set` and `key` while monotonic `nowMs` is before its end, else undefined. */
  heldDecision(set: string, key: string, nowMs: number): { decision: GateDecision; remainingMs: number } | undefined {
    const h = this.holds.get(set);
    if (h === undefined || h.key !== key || nowMs >= h.untilMs) return undefined;
    return { decision: h.decision, remainingMs: h.untilMs - nowMs };
  }

  /** As holdDecision, for the fetch turn's answer (a sentence saying why it waits). */
  holdTurn(set: string, key: string, untilMs: number, message: string): void {
    this.turnHolds.set(set, { key, untilMs, message });
  }

  /**
   * True when the fetch turn of `set` may read status files again (none read in the last `maxAgeMs` of
   * monotonic `nowMs`), and then counts this as a read. A young rollout's turn looks often, and the files only
   * matter for machines without a Ready marker: a later read can only let a machine fetch later, never switch.
   */
  turnReadDue(set: string, nowMs: number, maxAgeMs: number): boolean {
    const at = this.turnReadAt.get(set);
    if (at !== undefined && nowMs - at < maxAgeMs) return false;
    this.turnReadAt.set(set, nowMs);
    return true;
  }

  /** As heldDecision, for the fetch turn. */
  heldTurn(set: string, key: string, nowMs: number): { message: string; remainingMs: number } | undefined {
    const h = this.turnHolds.get(set);
    return h !== undefined && h.key === key && nowMs < h.untilMs ? { message: h.message, remainingMs: h.untilMs - nowMs } : undefined;
  }

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

  /**
   * When (wall clock ms, `nowMs` on first call) this process first saw rollout `rolloutId` of `set`: the
   * rollout began no later, as far as this machine can tell (look-again.ts). A new rollout starts it afresh.
   */
  firstSeen(set: string, rolloutId: string, nowMs: number): number {
    this.doneIn(set, rolloutId);
    const cur = this.done.get(set);
    if (cur === undefined) return nowMs;
    cur.firstSeenMs ??= nowMs;
    return cur.firstSeenMs;
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
