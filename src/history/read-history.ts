import { historyMachinePrefix, historyPrefix, parseHistoryKey } from '../store/keys.js';
import { listAll, type Store } from '../store/store.js';
import { parseHistoryRecord, type HistoryRecord } from './history-record.js';
import { parseHistorySegment } from './history-segment.js';

/** A record is a few KB at most; a segment holds a few hundred of them. */
export const MAX_RECORD_BYTES = 16 * 1024;
export const MAX_SEGMENT_BYTES = 16 * 1024 * 1024;

/** One record as found in the store: where (a single's key, or a segment's key), and the seq its key claims. */
export type HistoryEntry =
  | { where: string; claimedSeq: number; record: HistoryRecord }
  | { where: string; claimedSeq: number; problem: string };

/** Every entry of one machine, in key order; segments expand to their records. */
export type MachineEntries = Map<string, HistoryEntry[]>;

async function readBytes(store: Store, key: string, maxBytes: number): Promise<Buffer | null> {
  try {
    return await store.getBytes(key, { maxBytes });
  } catch (err) {
    if (store.isNotFound(err)) return null; // compacted between list and get: its segment is listed too
    throw err;
  }
}

/** Reads one key's entries: a single record, or a segment's records claimed at first, first+1, … */
export async function readHistoryKey(store: Store, key: string, parsed: NonNullable<ReturnType<typeof parseHistoryKey>>): Promise<HistoryEntry[]> {
  if (parsed.kind === 'record') {
    const bytes = await readBytes(store, key, MAX_RECORD_BYTES);
    if (bytes === null) return [];
    const r = parseHistoryRecord(bytes, key);
    return ['problem' in r ? { where: key, claimedSeq: parsed.seq, problem: r.problem } : { where: key, claimedSeq: parsed.seq, record: r }];
  }
  const bytes = await readBytes(store, key, MAX_SEGMENT_BYTES);
  if (bytes === null) return [];
  const seg = parseHistorySegment(bytes, key);
  if ('problem' in seg) return [{ where: key, claimedSeq: parsed.first, problem: seg.problem }];
  const out: HistoryEntry[] = seg.records.map((r, i) => ('problem' in r ? { where: key, claimedSeq: parsed.first + i, problem: r.problem } : { where: key, claimedSeq: parsed.first + i, record: r }));
  if (seg.records.length !== parsed.last - parsed.first + 1 || seg.segment.first !== parsed.first || seg.segment.last !== parsed.last) {
    out.push({ where: key, claimedSeq: parsed.last, problem: `${key}: the segment holds ${seg.records.length} record(s), its name says ${parsed.first}..${parsed.last}` });
  }
  return out;
}

/**
 * Reads the deployment log of `set` from the store: machine → its entries (singles and segments), or only
 * `machine`'s. Unparsable objects come back as problems in place. Fails only on store errors.
 */
export async function readSetHistory(store: Store, set: string, machine?: string): Promise<MachineEntries> {
  const base = historyPrefix(set);
  const out: MachineEntries = new Map();
  for await (const info of listAll(store, machine === undefined ? base : historyMachinePrefix(set, machine))) {
    const parsed = parseHistoryKey(info.key.slice(base.length));
    if (parsed === undefined) continue;
    const entries = await readHistoryKey(store, info.key, parsed);
    const list = out.get(parsed.machine) ?? [];
    list.push(...entries);
    out.set(parsed.machine, list);
  }
  return out;
}
