import { isClosureRef, type ClosureRef } from '../store/closure-ref.js';
import type { Store } from '../store/store.js';

/** The schema tag of lease objects. */
export const LEASE_SCHEMA = 'flotilla.lease/v1';
/** Lease and token objects are tiny; anything bigger is not ours. */
export const MAX_LEASE_BYTES = 16 * 1024;

/**
 * The content of `leases/SET/ROLLOUT/slot-K`. `token` is 0 while the slot is being claimed (before the
 * fencing token is assigned). `seq` grows on every write so the bytes, hence the etag, always change.
 * Wall-clock fields are for people; no decision compares them across machines.
 */
export interface LeaseRecord {
  schema: typeof LEASE_SCHEMA;
  state: 'held' | 'released';
  holder: string;
  machine: string;
  digest: ClosureRef;
  token: number;
  ttlMs: number;
  seq: number;
  acquiredAt: string;
  renewedAt: string;
  /** Who released it when not the holder (an operator's `flotilla unlock`). */
  releasedBy?: string;
}

const KEYS = ['schema', 'state', 'holder', 'machine', 'digest', 'token', 'ttlMs', 'seq', 'acquiredAt', 'renewedAt', 'releasedBy'];

function isCount(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
}

/** Parses lease bytes strictly; returns null for anything that is not a v1 lease (the caller decides). */
export function parseLeaseRecord(bytes: Buffer): LeaseRecord | null {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const r = v as Record<string, unknown>;
  if (Object.keys(r).some((k) => !KEYS.includes(k))) return null;
  const ok =
    r['schema'] === LEASE_SCHEMA && (r['state'] === 'held' || r['state'] === 'released') &&
    typeof r['holder'] === 'string' && typeof r['machine'] === 'string' && isClosureRef(r['digest']) &&
    isCount(r['token'], 0) && isCount(r['ttlMs'], 1) && isCount(r['seq'], 0) &&
    typeof r['acquiredAt'] === 'string' && typeof r['renewedAt'] === 'string' &&
    (r['releasedBy'] === undefined || typeof r['releasedBy'] === 'string');
  return ok ? (r as unknown as LeaseRecord) : null;
}

/** Serialises a lease record (stable key order). */
export function serializeLeaseRecord(record: LeaseRecord): Buffer {
  return Buffer.from(JSON.stringify(Object.fromEntries(KEYS.filter((k) => k in record).map((k) => [k, record[k as keyof LeaseRecord]]))), 'utf8');
}

/**
 * Reads an object's bytes together with an etag no newer than those bytes: one GET that returns both
 * (getIfChanged) where the store has it, else head first, then get. If the object changes between the two,
 * the bytes are newer than the etag, so any compare-and-swap over that etag fails: the pair is never "old
 * bytes, new etag", which could let a decision on stale content win a CAS. Returns null when the object
 * does not exist.
 */
export async function readWithEtag(store: Store, key: string, maxBytes = MAX_LEASE_BYTES): Promise<{ etag: string; bytes: Buffer } | null> {
  try {
    if (store.getIfChanged !== undefined) {
      const r = await store.getIfChanged(key, undefined, { maxBytes });
      // Asked without an etag, a store answers with the body; a 304 here would be a store bug.
      if (!r.notModified) return { etag: r.etag, bytes: r.bytes };
    }
    const { etag } = await store.head(key);
    const bytes = await store.getBytes(key, { maxBytes });
    return { etag, bytes };
  } catch (err) {
    if (store.isNotFound(err)) return null;
    throw err;
  }
}
