import { IntegrityError, PreconditionFailedError } from '../errors/index.js';
import { historyMachinePrefix, historyPrefix, historyRecordKey, parseHistoryKey, type HistoryKey } from '../store/keys.js';
import { listAll, type Store } from '../store/store.js';
import { HISTORY_RECORD_SCHEMA, recordBytes, recordHash, signedBytes, type HistoryEvent, type HistoryRecord } from './history-record.js';
import { signWith, type MachineKey } from './machine-key.js';
import { readHistoryKey } from './read-history.js';

/** Where a machine's chain ends: the last seq and the hash the next record's `prev` must carry. */
export interface ChainTail {
  seq: number;
  hash: string;
}

const MAX_ATTEMPTS = 20;

function lastSeqOf(k: HistoryKey): number {
  return k.kind === 'record' ? k.seq : k.last;
}

async function recordAt(store: Store, key: string, k: HistoryKey, seq: number): Promise<HistoryRecord | null> {
  const entries = await readHistoryKey(store, key, k);
  const e = entries.find((x) => x.claimedSeq === seq);
  if (e === undefined) return null;
  if ('problem' in e) throw new IntegrityError(`the deployment log cannot continue after an unreadable record: ${e.problem}`, { key });
  return e.record;
}

/**
 * Finds the end of `machine`'s chain in `set` by listing its keys (singles and segments) and reading the
 * record with the highest seq; null for an empty log. Fails with the store's errors, or IntegrityError when
 * that record is unreadable (appending after it would chain to garbage).
 */
export async function readTail(store: Store, set: string, machine: string): Promise<ChainTail | null> {
  const base = historyPrefix(set);
  let best: { key: string; k: HistoryKey } | undefined;
  for await (const info of listAll(store, historyMachinePrefix(set, machine))) {
    const k = parseHistoryKey(info.key.slice(base.length));
    if (k !== undefined && (best === undefined || lastSeqOf(k) > lastSeqOf(best.k))) best = { key: info.key, k };
  }
  if (best === undefined) return null;
  const seq = lastSeqOf(best.k);
  const r = await recordAt(store, best.key, best.k, seq);
  return r === null ? readTail(store, set, machine) : { seq, hash: recordHash(r) };
}

/** Builds and signs record `seq` after `tail` (null: the first record). */
export function signRecord(key: MachineKey, machine: string, event: HistoryEvent, tail: ChainTail | null): HistoryRecord {
  const unsigned: Omit<HistoryRecord, 'signature'> = { ...event, schema: HISTORY_RECORD_SCHEMA, machine, seq: (tail?.seq ?? 0) + 1, prev: tail?.hash ?? null, key: key.publicKey };
  return { ...unsigned, signature: signWith(key, signedBytes(unsigned)) };
}

/**
 * Appends `event` to `machine`'s chain after `tail` with create-if-absent: a record is never overwritten.
 * When the seq is taken (another process of this machine, or a tail known too early) the record found
 * there is read and the chain continues after it. Returns the record written and the new tail. Fails with
 * the store's errors, IntegrityError for an unreadable record in the way, PreconditionFailedError after
 * many lost races.
 */
export async function appendRecord(store: Store, key: MachineKey, machine: string, event: HistoryEvent, tail: ChainTail | null): Promise<{ record: HistoryRecord; tail: ChainTail }> {
  let at = tail;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const record = signRecord(key, machine, event, at);
    const objectKey = historyRecordKey(event.set, machine, record.seq);
    try {
      await store.put(objectKey, Buffer.concat([recordBytes(record), Buffer.from('\n')]), { ifNoneMatch: '*', contentType: 'application/json' });
      return { record, tail: { seq: record.seq, hash: recordHash(record) } };
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      const there = await recordAt(store, objectKey, { kind: 'record', machine, seq: record.seq }, record.seq);
      at = there === null ? await readTail(store, event.set, machine) : { seq: there.seq, hash: recordHash(there) };
    }
  }
  throw new PreconditionFailedError(`could not append to the deployment log of ${machine} in set ${event.set} after ${MAX_ATTEMPTS} attempts`, { set: event.set, machine });
}
