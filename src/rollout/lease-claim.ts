// The first half of acquiring a slot: claiming a slot object by one conditional write, and the cheap path
// that tries the machine's own slot first. lease.ts holds the protocol as a whole and its description.
import { createHash } from 'node:crypto';
import { PreconditionFailedError } from '../errors/index.js';
import type { ClosureRef } from '../store/closure-ref.js';
import { leaseKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import type { Clock } from './clock.js';
import type { LeaseObserver } from './lease-observer.js';
import { LEASE_SCHEMA, parseLeaseRecord, readWithEtag, serializeLeaseRecord, type LeaseRecord } from './lease-record.js';
import { confirmConditionLoses } from './write-check.js';

/** Arguments of acquireSlot. `observations` must live as long as the agent, across polls. */
export interface AcquireOptions {
  store: Store;
  set: string;
  rollout: string;
  /** How many slots the rollout has (the batch capacity). */
  slots: number;
  machine: string;
  /** Unique per agent process (e.g. machine + pid + random), so two lives of one machine differ. */
  holder: string;
  digest: ClosureRef;
  ttlMs: number;
  clock: Clock;
  observations: LeaseObserver;
  /**
   * The slot to try first (its position in its batch): machines of one batch going at once then each claim
   * a different slot instead of racing for the same one. Default: a hash of the machine name.
   */
  preferredSlot?: number;
  /**
   * Only adopt the slot our own machine already holds at its preferred position (a restarted agent); never
   * take a free one, and never read the other slots (adoptOwnSlot).
   */
  ownOnly?: boolean;
}

/** One slot as last seen: etag undefined when absent; record null when absent or unparseable. */
export interface SlotView {
  slot: number;
  key: string;
  etag: string | undefined;
  record: LeaseRecord | null;
}

/** A slot won by a conditional write: the record written (with its token) and its etag. */
export interface Claim {
  view: SlotView;
  etag: string;
  record: LeaseRecord;
}

/** The slot a machine tries first: its preferred slot, or a hash of its name. */
export function firstSlotOf(o: Pick<AcquireOptions, 'machine' | 'slots' | 'preferredSlot'>): number {
  if (o.preferredSlot !== undefined) return o.preferredSlot % o.slots;
  return createHash('sha256').update(o.machine).digest().readUInt32BE(0) % o.slots;
}

/**
 * The fencing token of the next holder of a slot whose current record is `previous` (null: the slot is
 * absent): one above the record it replaces, 1 for a new slot. The claim is a conditional write over that
 * very record, so tokens grow strictly per slot in the order holders won it, without a shared counter.
 */
export function nextTokenAfter(previous: LeaseRecord | null): number {
  return previous === null ? 1 : previous.token + 1;
}

/** A held record of this holder carrying fencing token `token`. */
export function freshRecord(o: AcquireOptions, now: string, seq: number, token: number): LeaseRecord {
  return {
    schema: LEASE_SCHEMA, state: 'held', holder: o.holder, machine: o.machine, digest: o.digest,
    token, ttlMs: o.ttlMs, seq, acquiredAt: now, renewedAt: now,
  };
}

/** Tries one conditional write; the new etag when it won, null on PreconditionFailedError. */
export async function tryPut(store: Store, key: string, record: LeaseRecord, cond: { ifNoneMatch: '*' } | { ifMatch: string }): Promise<string | null> {
  try {
    return (await store.put(key, serializeLeaseRecord(record), { ...cond, contentType: 'application/json' })).etag;
  } catch (err) {
    if (err instanceof PreconditionFailedError) return null;
    throw err;
  }
}

/**
 * Claims `key` with `record` by one conditional write; when it wins, checks that the same write now loses
 * (confirmConditionLoses: a store caught ignoring the condition throws, and nothing is claimed through it).
 * The new etag, or null when the claim lost.
 */
export async function claimSlot(store: Store, key: string, record: LeaseRecord, cond: { ifNoneMatch: '*' } | { ifMatch: string }): Promise<string | null> {
  const etag = await tryPut(store, key, record, cond);
  if (etag !== null) await confirmConditionLoses(store, key, serializeLeaseRecord(record), cond);
  return etag;
}

/**
 * The cheap path of acquiring: the machine's own slot first. Create-if-absent on it; when it exists, read
 * that one slot and take it by CAS when it is a released tombstone (the machine at this position in the
 * batch before left it) or our own machine's (an agent restarted). Null when that did not win: the caller
 * then reads every slot (the full pass), which also judges expiry. Costs two requests (create, check) on
 * an empty slot, four on a tombstone (read, CAS, check), instead of a listing and a read of every slot.
 */
export async function claimOwnSlot(o: AcquireOptions): Promise<Claim | null> {
  const slot = firstSlotOf(o);
  const key = leaseKey(o.set, o.rollout, slot);
  const first = freshRecord(o, o.clock.now().toISOString(), 0, nextTokenAfter(null));
  const created = await claimSlot(o.store, key, first, { ifNoneMatch: '*' });
  if (created !== null) {
    o.observations.forget(key);
    return { view: { slot, key, etag: undefined, record: null }, etag: created, record: first };
  }
  const read = await readWithEtag(o.store, key);
  if (read === null) return null; // deleted in between (a GC): the full pass decides
  const record = parseLeaseRecord(read.bytes);
  o.observations.see(key, read.etag, record, o.clock.monotonicMs());
  const free = record !== null && (record.state === 'released' || record.machine === o.machine);
  if (!free) return null;
  const next = freshRecord(o, o.clock.now().toISOString(), record.seq + 1, nextTokenAfter(record));
  const etag = await claimSlot(o.store, key, next, { ifMatch: read.etag });
  if (etag === null) return null;
  o.observations.forget(key);
  return { view: { slot, key, etag: read.etag, record }, etag, record: next };
}

/**
 * A restarted agent's look for a slot its own machine left held: one read of its preferred slot, adopted by
 * CAS over the etag read when it is held by our machine for the same digest. The other slots are not read: a
 * slot of ours elsewhere (taken when our own was busy) is not given back early, it expires after its TTL as
 * any holder's does, or is adopted by the full pass of the next acquisition. Null when there is nothing to
 * adopt or the CAS lost. Costs one request when there is nothing to adopt.
 */
export async function adoptOwnSlot(o: AcquireOptions): Promise<Claim | null> {
  const slot = firstSlotOf(o);
  const key = leaseKey(o.set, o.rollout, slot);
  const read = await readWithEtag(o.store, key);
  if (read === null) return null;
  const record = parseLeaseRecord(read.bytes);
  o.observations.see(key, read.etag, record, o.clock.monotonicMs());
  if (record === null || record.state !== 'held' || record.machine !== o.machine || record.digest !== o.digest) return null;
  const next = freshRecord(o, o.clock.now().toISOString(), record.seq + 1, nextTokenAfter(record));
  const etag = await claimSlot(o.store, key, next, { ifMatch: read.etag });
  if (etag === null) return null;
  o.observations.forget(key);
  return { view: { slot, key, etag: read.etag, record }, etag, record: next };
}
