import { PreconditionFailedError } from '../errors/index.js';
import { listAll, type Store } from '../store/store.js';
import { leasesPrefix } from '../store/keys.js';
import { setLeasesPrefix, slotIndexOf } from './lease-keys.js';
import { parseLeaseRecord, readWithEtag, serializeLeaseRecord } from './lease-record.js';

/** One slot lease as an operator sees it (`flotilla status`, `flotilla unlock`): who holds which slot. */
export interface SlotHolder {
  rollout: string;
  slot: number;
  machine: string;
  token: number;
  state: 'held' | 'released';
}

/**
 * Lists every slot lease of `set` across its rollouts (held and released), for `flotilla status` and
 * `flotilla unlock`. Unparseable slot objects are skipped. Store errors pass through.
 */
export async function listSlotLeases(store: Store, set: string, rollout?: string): Promise<Array<SlotHolder & { key: string }>> {
  // With a rollout, list only its objects: finished rollouts' tombstones and tokens are never read.
  const prefix = rollout === undefined ? setLeasesPrefix(set) : leasesPrefix(set, rollout);
  const setPrefix = setLeasesPrefix(set);
  const out: Array<SlotHolder & { key: string }> = [];
  for await (const info of listAll(store, prefix)) {
    const [rid, tail, ...extra] = info.key.slice(setPrefix.length).split('/');
    const slot = tail === undefined ? null : slotIndexOf(tail);
    if (rid === undefined || slot === null || extra.length > 0 || (rollout !== undefined && rid !== rollout)) continue;
    const read = await readWithEtag(store, info.key);
    const rec = read === null ? null : parseLeaseRecord(read.bytes);
    if (rec === null) continue;
    out.push({ key: info.key, rollout: rid, slot, machine: rec.machine, token: rec.token, state: rec.state });
  }
  return out;
}

/**
 * Operator action: releases every held slot of `machine` in `set` (optionally only in `rollout`) by
 * writing a "released" tombstone over the etag just read, so a concurrent takeover is never undone.
 * The former holder's next renew/release fails with LeaseError. Returns the keys released.
 */
export async function unlockMachine(store: Store, set: string, machine: string, options: { rollout?: string; by?: string } = {}): Promise<string[]> {
  const released: string[] = [];
  for (const lease of await listSlotLeases(store, set, options.rollout)) {
    if (lease.machine !== machine || lease.state !== 'held') continue;
    for (let attempt = 0; attempt < 20; attempt++) {
      const cur = await readWithEtag(store, lease.key);
      const rec = cur === null ? null : parseLeaseRecord(cur.bytes);
      if (cur === null || rec === null || rec.machine !== machine || rec.state !== 'held') break;
      const next = { ...rec, state: 'released' as const, seq: rec.seq + 1, releasedBy: options.by ?? 'operator' };
      try {
        await store.put(lease.key, serializeLeaseRecord(next), { ifMatch: cur.etag });
        released.push(lease.key);
        break;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
      }
    }
  }
  return released;
}
