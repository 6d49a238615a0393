import { recordBytes, recordFromJson, type HistoryRecord } from './history-record.js';

/** The schema tag of compacted segments. */
export const HISTORY_SEGMENT_SCHEMA = 'flotilla.history-segment/v1';

/**
 * A compacted run of one machine's records `first..last`, each kept verbatim with its own signature: a
 * segment is written once, beside the singles it replaces, and only then are the singles deleted.
 */
export interface HistorySegment {
  schema: typeof HISTORY_SEGMENT_SCHEMA;
  set: string;
  machine: string;
  first: number;
  last: number;
  records: HistoryRecord[];
}

/** The segment's bytes: a header line, then each record's canonical bytes on its own line (verbatim). */
export function segmentBytes(s: HistorySegment): Buffer {
  const header = JSON.stringify({ schema: s.schema, set: s.set, machine: s.machine, first: s.first, last: s.last });
  return Buffer.from(`${[header, ...s.records.map((r) => recordBytes(r).toString('utf8'))].join('\n')}\n`, 'utf8');
}

/**
 * Parses a segment: the header, then one record per line. A record line that does not parse is returned as
 * a problem in its place (the others still count); a bad header makes the whole segment one problem.
 */
export function parseHistorySegment(bytes: Buffer, key: string): { segment: Omit<HistorySegment, 'records'>; records: (HistoryRecord | { problem: string })[] } | { problem: string } {
  let lines: string[];
  try {
    lines = new TextDecoder('utf-8', { fatal: true }).decode(bytes).split('\n').filter((l) => l.length > 0);
  } catch {
    return { problem: `${key}: not valid UTF-8` };
  }
  let header: unknown;
  try {
    header = JSON.parse(lines[0] ?? '');
  } catch {
    return { problem: `${key}: the first line is no segment header` };
  }
  const h = header as Partial<HistorySegment> | null;
  if (h === null || typeof h !== 'object' || h.schema !== HISTORY_SEGMENT_SCHEMA || typeof h.set !== 'string' || typeof h.machine !== 'string' || !Number.isSafeInteger(h.first) || !Number.isSafeInteger(h.last)) {
    return { problem: `${key}: the first line is no ${HISTORY_SEGMENT_SCHEMA} header` };
  }
  const records = lines.slice(1).map((line, i) => {
    try {
      return recordFromJson(JSON.parse(line));
    } catch (err) {
      return { problem: `${key} line ${i + 2}: ${(err as Error).message}` };
    }
  });
  return { segment: { schema: HISTORY_SEGMENT_SCHEMA, set: h.set, machine: h.machine, first: h.first as number, last: h.last as number }, records };
}
