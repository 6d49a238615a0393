import { recordBytes, recordHash, signedBytes, type HistoryRecord } from './history-record.js';
import { verifySignature } from './machine-key.js';
import type { ChainHead } from './outbox.js';
import type { HistoryEntry } from './read-history.js';

/**
 * What can be wrong with a machine's log:
 * - `unreadable`: an object that does not parse as a record or segment;
 * - `misplaced`: a record stored under another seq, set or machine than it says (moved or reordered);
 * - `conflict`: two different records claim the same seq;
 * - `missing`: a gap in the seqs (a record deleted);
 * - `truncated`: the log ends before the head the machine's status lists (its newest records deleted);
 * - `broken-link`: `prev` is not the hash of the record before it (edited, replaced or reordered);
 * - `bad-signature`: the signature does not verify under the machine's listed key (a field was changed);
 * - `foreign-key`: signed by a key other than the one the machine lists in its status;
 * - `no-key`: the machine lists no history key in its status, so nothing of it can be verified.
 */
export type ChainProblemKind = 'unreadable' | 'misplaced' | 'conflict' | 'missing' | 'truncated' | 'broken-link' | 'bad-signature' | 'foreign-key' | 'no-key';

export interface ChainProblem {
  kind: ChainProblemKind;
  machine: string;
  seq: number | null;
  where: string;
  message: string;
}

/** A machine's log after verification: its records in seq order, each marked verified or not, and the problems. */
export interface VerifiedChain {
  machine: string;
  key: string | null;
  head: ChainHead | null;
  records: { record: HistoryRecord; where: string; verified: boolean }[];
  problems: ChainProblem[];
}

type Found = { where: string; claimedSeq: number; record: HistoryRecord };

/** One record per seq; a single and its segment copy (a compaction cut short) are the same bytes and count once. */
function bySeq(machine: string, entries: readonly HistoryEntry[], problems: ChainProblem[]): Found[] {
  const seen = new Map<number, Found>();
  for (const e of entries) {
    if ('problem' in e) {
      problems.push({ kind: 'unreadable', machine, seq: e.claimedSeq, where: e.where, message: e.problem });
      continue;
    }
    const before = seen.get(e.claimedSeq);
    if (before === undefined) seen.set(e.claimedSeq, e);
    else if (!recordBytes(before.record).equals(recordBytes(e.record))) {
      problems.push({ kind: 'conflict', machine, seq: e.claimedSeq, where: `${before.where}, ${e.where}`, message: `two different records claim seq ${e.claimedSeq} of ${machine}` });
    }
  }
  return [...seen.values()].sort((a, b) => a.claimedSeq - b.claimedSeq);
}

function checkSignature(f: Found, machine: string, key: string | null, problems: ChainProblem[]): boolean {
  if (key === null) return false;
  const r = f.record;
  if (r.key !== key) {
    problems.push({ kind: 'foreign-key', machine, seq: r.seq, where: f.where, message: `record ${r.seq} of ${machine} is signed by ${r.key}, not by the key ${machine} lists in its status (${key})` });
    return false;
  }
  if (!verifySignature(key, signedBytes(r), r.signature)) {
    problems.push({ kind: 'bad-signature', machine, seq: r.seq, where: f.where, message: `record ${r.seq} of ${machine}: the signature does not verify (a field was changed after signing)` });
    return false;
  }
  return true;
}

function checkHead(machine: string, set: string, head: ChainHead, found: readonly Found[], problems: ChainProblem[]): void {
  const where = `status/${set}/${machine}.json`;
  const at = found.find((f) => f.claimedSeq === head.seq);
  if (at === undefined) {
    const last = found.at(-1)?.claimedSeq ?? 0;
    if (last < head.seq) problems.push({ kind: 'truncated', machine, seq: head.seq, where, message: `${machine}'s status lists record ${head.seq} as its newest, but its log ends at ${last === 0 ? 'nothing' : `record ${last}`}: records were deleted` });
  } else if (recordHash(at.record) !== head.sha256) {
    problems.push({ kind: 'broken-link', machine, seq: head.seq, where: at.where, message: `record ${head.seq} of ${machine} is not the record its status lists as its newest (another sha256)` });
  }
}

/**
 * Verifies one machine's log of `set`: every record signed by `key` (the public key the machine lists in
 * its status; null when it lists none), stored where it says, seqs 1..n without a gap, each `prev` the
 * hash of the record before, and, when the status lists a `head`, the log reaching it with that record's
 * hash (records appended since the status was written are fine). Without a head, a tail cut off after the
 * last record is not detectable. Pure: reads nothing. Returns the records in seq order with what is
 * wrong, never throws.
 */
export function verifyChain(set: string, machine: string, entries: readonly HistoryEntry[], key: string | null, head: ChainHead | null = null): VerifiedChain {
  const problems: ChainProblem[] = [];
  const found = bySeq(machine, entries, problems);
  if (key === null && found.length > 0) {
    problems.push({ kind: 'no-key', machine, seq: null, where: `status/${set}/${machine}.json`, message: `${machine} lists no history key in its status report: its ${found.length} record(s) cannot be verified` });
  }
  const records: VerifiedChain['records'] = [];
  let previous: HistoryRecord | undefined;
  let expected = 1;
  for (const f of found) {
    const r = f.record;
    let ok = checkSignature(f, machine, key, problems);
    if (r.seq !== f.claimedSeq || r.set !== set || r.machine !== machine) {
      problems.push({ kind: 'misplaced', machine, seq: f.claimedSeq, where: f.where, message: `${f.where} holds record ${r.seq} of ${r.set}/${r.machine}, not record ${f.claimedSeq} of ${set}/${machine}` });
      ok = false;
    }
    if (f.claimedSeq > expected) {
      const gap = f.claimedSeq - 1 === expected ? `record ${expected} is` : `records ${expected}..${f.claimedSeq - 1} are`;
      problems.push({ kind: 'missing', machine, seq: expected, where: f.where, message: `${gap} missing from ${machine}'s log (deleted?): the chain breaks before record ${f.claimedSeq}` });
      ok = false;
    } else if (r.prev !== (previous === undefined ? null : recordHash(previous))) {
      problems.push({ kind: 'broken-link', machine, seq: f.claimedSeq, where: f.where, message: `record ${f.claimedSeq} of ${machine} does not follow record ${f.claimedSeq - 1}: its prev is not that record's hash (edited, replaced or reordered)` });
      ok = false;
    }
    records.push({ record: r, where: f.where, verified: ok });
    previous = r;
    expected = f.claimedSeq + 1;
  }
  if (head !== null) checkHead(machine, set, head, found, problems);
  return { machine, key, head, records, problems };
}
