/**
 * The lease protocol: at most `slots` machines of a rollout hold a slot at any moment, with no
 * coordinator, through conditional writes on the shared store only.
 *
 * Objects (per rollout = set + target digest):
 *   leases/SET/ROLLOUT/slot-K   a LeaseRecord {holder, machine, digest, token, ttlMs, seq, acquiredAt, renewedAt, state}
 *   (leases/SET/ROLLOUT/token   the fencing-token counter of earlier versions: no longer written, collected
 *                               with the rollout)
 *
 * Acquire, own slot first (lease-claim.ts): create-if-absent on the machine's preferred slot (its position
 * in its batch); when that slot exists, read it alone and CAS it when it is a released tombstone or our own
 * machine's. Every won claim is checked by repeating the same conditional write, which must lose
 * (write-check.ts: a store caught ignoring a condition fails the acquisition). Only when the own slot is
 * held by another does the machine read the others, in one pass over slots 0..slots-1 starting at that
 * offset (a listing, then a read of each etag this observer has not seen):
 *   - our own machine already holds a slot (an agent restarted): adopt it by CAS over its etag;
 *   - slot absent: create it with create-if-absent (If-None-Match: * / O_EXCL link);
 *   - slot released (a tombstone, state "released"): take it by CAS over its etag;
 *   - slot held: expired only if *this observer* has seen the same etag for at least its ttlMs on its own
 *     monotonic clock; then take it by CAS over that etag (two observers cannot both win a CAS);
 *   - slot unparseable: never taken (its holders' tokens are unknown); delete the object by hand.
 *   Losing a create or CAS just moves on to the next slot; no free slot → null (the caller waits a poll).
 * The claim itself carries the fencing token: one above the token of the record it replaces (1 for a new
 * slot). It is written by create-if-absent or by CAS over that record's etag, so two holders of a slot
 * never share a token and each new holder's is larger: tokens grow strictly per slot in the order holders
 * won it. A whole batch going at once thus takes its tokens in parallel, one write each, instead of one
 * compare-and-swap after another on a rollout-wide counter. A token names a holder together with its slot.
 *
 * Holding: `renew()` rewrites the record (seq+1, renewedAt) by CAS over the last etag we wrote, so every
 * write proves nobody took the slot in between. A lost CAS is a LeaseError, unless the current bytes are
 * exactly our own last write (an answer lost in transit). A fence before a side effect is a `renew()` that
 * wins (reconcile/keep-lease.ts): `assertHeld()` only reads, and a read proves nothing about the moment
 * after it. Renew about every ttlMs/3; `remainingMs()` says how long the
 * last confirmation is good for on our monotonic clock (an observer starts counting only after seeing it).
 * Release: CAS the record to a "released" tombstone (not a delete: a conditional delete is not honoured
 * everywhere, and an unconditional one could remove the next holder's lease).
 *
 * Time: wall clocks are written for people and never compared across machines. Expiry is "unchanged for
 * ttlMs since I first saw it", so a skewed wall clock can neither steal a live lease (its renewals keep
 * changing the etag) nor hoard a dead one (an unchanged etag expires on everybody else's clock). A fresh
 * observer (a restarted agent) must watch a full TTL before taking over.
 */
import { LeaseError } from '../errors/index.js';
import { leaseKey, leasesPrefix } from '../store/keys.js';
import { listAll, type Store } from '../store/store.js';
import type { Clock } from './clock.js';
import { slotIndexOf } from './lease-keys.js';
import { adoptOwnSlot, claimOwnSlot, claimSlot, firstSlotOf, freshRecord, nextTokenAfter, tryPut, type AcquireOptions, type Claim, type SlotView } from './lease-claim.js';
import { parseLeaseRecord, readWithEtag, serializeLeaseRecord, type LeaseRecord } from './lease-record.js';

export { LeaseObserver } from './lease-observer.js';

export type { AcquireOptions } from './lease-claim.js';

/** A held slot. Every method fails with LeaseError once the slot is no longer ours. */
export interface Lease {
  readonly key: string;
  readonly slot: number;
  readonly token: number;
  readonly holder: string;
  readonly ttlMs: number;
  /** Rewrites the record by CAS; LeaseError when it was taken over, released or cleared. */
  renew(): Promise<void>;
  /** Checks, without writing, that the slot still carries our last etag; LeaseError otherwise. */
  assertHeld(): Promise<void>;
  /** Leaves a "released" tombstone by CAS; LeaseError when it was no longer ours. Idempotent after success. */
  release(): Promise<void>;
  /** Milliseconds our last confirmed write is still safe for, on our monotonic clock (≤ 0: renew now). */
  remainingMs(): number;
}

/** Lists the slot objects of a rollout in one request, and reads the bytes of etags not seen before. */
async function viewSlots(o: AcquireOptions): Promise<SlotView[]> {
  const prefix = leasesPrefix(o.set, o.rollout);
  const etags = new Map<number, string>();
  for await (const info of listAll(o.store, prefix)) {
    const k = slotIndexOf(info.key.slice(prefix.length));
    if (k !== null && k < o.slots) etags.set(k, info.etag);
  }
  const views: SlotView[] = [];
  const first = firstSlotOf(o);
  for (let i = 0; i < o.slots; i++) {
    const slot = (first + i) % o.slots;
    const key = leaseKey(o.set, o.rollout, slot);
    const listed = etags.get(slot);
    if (listed === undefined) {
      o.observations.forget(key);
      views.push({ slot, key, etag: undefined, record: null });
      continue;
    }
    let record = o.observations.recordFor(key, listed);
    let etag = listed;
    if (record === undefined) {
      const read = await readWithEtag(o.store, key);
      if (read === null) {
        views.push({ slot, key, etag: undefined, record: null });
        continue;
      }
      etag = read.etag;
      record = parseLeaseRecord(read.bytes);
    }
    o.observations.see(key, etag, record, o.clock.monotonicMs());
    views.push({ slot, key, etag, record });
  }
  return views;
}

/**
 * Tries to take one of the rollout's slots (see the protocol at the top of this file). Returns the held
 * Lease with its fencing token, or null when every slot is live and held by someone else (wait and call
 * again with the same `observations`). Fails with the store's errors, LeaseError from the token counter,
 * InvalidNameError for bad names, RangeError for a bad `slots` or `ttlMs`.
 */
export async function acquireSlot(o: AcquireOptions): Promise<Lease | null> {
  if (!Number.isSafeInteger(o.slots) || o.slots < 1) throw new RangeError(`slots must be a positive integer, got ${o.slots}`);
  if (!Number.isSafeInteger(o.ttlMs) || o.ttlMs < 1) throw new RangeError(`ttlMs must be a positive integer, got ${o.ttlMs}`);
  const started = o.clock.monotonicMs();
  if (o.ownOnly === true) {
    const own = await adoptOwnSlot(o);
    return own === null ? null : held(o, own, started);
  }
  const own = await claimOwnSlot(o);
  if (own !== null) return held(o, own, started);
  const views = await viewSlots(o);
  const mine = views.find((v) => v.record?.state === 'held' && v.record.machine === o.machine);
  const candidates = mine ? [mine] : views;
  for (const v of candidates) {
    const now = o.clock.now().toISOString();
    const at = o.clock.monotonicMs();
    let claim: Claim | null = null;
    if (v.etag === undefined) {
      const record = freshRecord(o, now, 0, nextTokenAfter(null));
      const etag = await claimSlot(o.store, v.key, record, { ifNoneMatch: '*' });
      claim = etag === null ? null : { view: v, etag, record };
    } else {
      // An unreadable slot is never taken: the token of its next holder could not be shown to grow.
      if (v.record === null) continue;
      // Judge expiry with the longer of the holder's declared TTL and ours, so we never cut a holder short.
      const ttl = Math.max(v.record.ttlMs, o.ttlMs);
      const free = v === mine || v.record.state === 'released' || o.observations.expired(v.key, v.etag, ttl, o.clock.monotonicMs());
      if (!free) continue;
      const record = freshRecord(o, now, v.record.seq + 1, nextTokenAfter(v.record));
      const etag = await claimSlot(o.store, v.key, record, { ifMatch: v.etag });
      claim = etag === null ? null : { view: v, etag, record };
    }
    if (claim === null) continue;
    o.observations.forget(v.key);
    return held(o, claim, at);
  }
  return null;
}

/** The Lease of a won claim; its TTL counts from `started`, when the winning write was sent. */
function held(o: AcquireOptions, c: Claim, started: number): Lease {
  return new HeldLease(o.store, c.view.key, c.view.slot, c.record, c.etag, o.clock, started);
}

class HeldLease implements Lease {
  private released = false;
  // Our writes are CAS over the etag the previous one returned, so they must run one after another: a
  // renewal still in flight when the holder releases would otherwise race it over the same etag, and
  // whichever lost would report the slot "no longer ours" although we held it throughout.
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    readonly key: string,
    readonly slot: number,
    private record: LeaseRecord,
    private etag: string,
    private readonly clock: Clock,
    private confirmedAt: number,
  ) {}

  get token(): number {
    return this.record.token;
  }
  get holder(): string {
    return this.record.holder;
  }
  get ttlMs(): number {
    return this.record.ttlMs;
  }

  remainingMs(): number {
    return this.record.ttlMs - (this.clock.monotonicMs() - this.confirmedAt);
  }

  private lost(why: string, current: LeaseRecord | null): LeaseError {
    return new LeaseError(`lease ${this.key} (token ${this.record.token}) is no longer ours: ${why}`, {
      key: this.key, token: this.record.token, holder: this.record.holder,
      currentHolder: current?.holder ?? null, currentToken: current?.token ?? null, currentState: current?.state ?? null,
    });
  }

  /** Queues a CAS of the record `change` makes of the current one, after every write already queued. */
  private write(change: (current: LeaseRecord) => LeaseRecord): Promise<void> {
    const done = this.writes.then(() => this.writeNow(change(this.record)));
    this.writes = done.catch(() => undefined);
    return done;
  }

  /** CAS `next` over our etag; on conflict accept only our own identical bytes (a lost response). */
  private async writeNow(next: LeaseRecord): Promise<void> {
    if (this.released) throw this.lost('already released', null);
    const started = this.clock.monotonicMs();
    const etag = await tryPut(this.store, this.key, next, { ifMatch: this.etag });
    if (etag !== null) {
      this.record = next;
      this.etag = etag;
      this.confirmedAt = started;
      return;
    }
    const cur = await readWithEtag(this.store, this.key);
    const rec = cur === null ? null : parseLeaseRecord(cur.bytes);
    if (cur !== null && cur.bytes.equals(serializeLeaseRecord(next))) {
      this.record = next;
      this.etag = cur.etag;
      this.confirmedAt = started;
      return;
    }
    throw this.lost(cur === null ? 'the slot was deleted' : rec?.holder === this.record.holder ? 'it was released' : 'it was taken over', rec);
  }

  async renew(): Promise<void> {
    await this.write((r) => ({ ...r, seq: r.seq + 1, renewedAt: this.clock.now().toISOString() }));
  }

  async assertHeld(): Promise<void> {
    if (this.released) throw this.lost('already released', null);
    // A read does not extend remainingMs(): observers restart their count only when the etag changes.
    try {
      const { etag } = await this.store.head(this.key);
      if (etag === this.etag) return;
    } catch (err) {
      if (!this.store.isNotFound(err)) throw err;
    }
    const cur = await readWithEtag(this.store, this.key);
    throw this.lost('the slot changed', cur === null ? null : parseLeaseRecord(cur.bytes));
  }

  async release(): Promise<void> {
    if (this.released) return;
    await this.write((r) => ({ ...r, state: 'released', seq: r.seq + 1, renewedAt: this.clock.now().toISOString() }));
    this.released = true;
  }
}
