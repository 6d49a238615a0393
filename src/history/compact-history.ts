import { IntegrityError, PreconditionFailedError } from '../errors/index.js';
import { historyMachinePrefix, historyPrefix, historySegmentKey, parseHistoryKey } from '../store/keys.js';
import { listAll, type Store } from '../store/store.js';
import { HISTORY_SEGMENT_SCHEMA, segmentBytes, type HistorySegment } from './history-segment.js';
import type { HistoryRecord } from './history-record.js';
import { MAX_SEGMENT_BYTES, readHistoryKey } from './read-history.js';

/** How many single records a machine's log reaches before its agent folds all but the newest into a segment. */
export const HISTORY_COMPACT_AFTER = 64;

/**
 * Compacts `machine`'s log in `set` when it holds at least `after` single records: the oldest run of
 * consecutive readable singles (all but the newest, which stays as the cheap-to-find tail) is written as one
 * segment object, create-if-absent, and only then are those singles deleted. Records are copied verbatim,
 * each with its own signature, so verification passes across segments; nothing is rewritten. A compaction
 * cut short leaves singles beside their segment, which readers count once. Returns the range compacted,
 * or null when there was nothing to do. Fails with the store's errors, or IntegrityError when a segment
 * already stored under the same name holds other records.
 */
export async function compactHistory(store: Store, set: string, machine: string, after = HISTORY_COMPACT_AFTER): Promise<{ first: number; last: number } | null> {
  const base = historyPrefix(set);
  const singles: { key: string; seq: number }[] = [];
  for await (const info of listAll(store, historyMachinePrefix(set, machine))) {
    const k = parseHistoryKey(info.key.slice(base.length));
    if (k?.kind === 'record') singles.push({ key: info.key, seq: k.seq });
  }
  if (singles.length < after) return null;
  singles.sort((a, b) => a.seq - b.seq);
  const run: { key: string; record: HistoryRecord }[] = [];
  for (const s of singles.slice(0, -1)) {
    if (run.length > 0 && s.seq !== (run.at(-1)?.record.seq ?? 0) + 1) break; // never across a gap: verification reports it
    const [e] = await readHistoryKey(store, s.key, { kind: 'record', machine, seq: s.seq });
    if (e === undefined || 'problem' in e || e.record.seq !== s.seq) break;
    run.push({ key: s.key, record: e.record });
  }
  if (run.length < 2) return null;
  const first = run[0]?.record.seq ?? 0;
  const last = run.at(-1)?.record.seq ?? 0;
  const segment: HistorySegment = { schema: HISTORY_SEGMENT_SCHEMA, set, machine, first, last, records: run.map((r) => r.record) };
  const bytes = segmentBytes(segment);
  const key = historySegmentKey(set, machine, first, last);
  try {
    await store.put(key, bytes, { ifNoneMatch: '*', contentType: 'application/x-ndjson' });
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
    // An earlier compaction of the same run stopped before deleting: go on only if it holds the same bytes.
    const there = await store.getBytes(key, { maxBytes: MAX_SEGMENT_BYTES });
    if (!there.equals(bytes)) throw new IntegrityError(`${key} already exists with other records; left the singles in place`, { key });
  }
  for (const r of run) await store.delete(r.key);
  return { first, last };
}
