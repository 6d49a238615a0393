import type { Store } from '../store/store.js';
import { isParseProblem, type MachineStatus, type ParseProblem } from '../status/machine-status.js';
import { readSetStatuses } from '../status/status-io.js';
import type { HistoryRecord } from './history-record.js';
import { readSetHistory } from './read-history.js';
import { verifyChain, type ChainProblem, type VerifiedChain } from './verify-chain.js';

/** A set's deployment log as read and verified: every record oldest first, per machine chains, and what is wrong. */
export interface SetHistory {
  set: string;
  machines: VerifiedChain[];
  /** Every record of every machine, oldest first (time, then machine, then seq). */
  timeline: { record: HistoryRecord; where: string; verified: boolean }[];
  problems: ChainProblem[];
  ok: boolean;
}

/**
 * Reads `set`'s deployment log (only `machine`'s when given) and verifies each machine's chain against the
 * history key that machine lists in its status report (status/SET/MACHINE.json). A machine with records
 * but no readable status or no key is a `no-key` problem. `statuses`: the set's reports when the caller has
 * just read them (the fleet page), so they are not read twice. Fails only on store errors.
 */
export async function readVerifiedHistory(store: Store, set: string, machine?: string, statuses?: ReadonlyMap<string, MachineStatus | ParseProblem>): Promise<SetHistory> {
  const [entries, reports] = await Promise.all([readSetHistory(store, set, machine), statuses ?? readSetStatuses(store, set)]);
  const machines = [...entries.keys()].sort().map((m) => {
    const s = reports.get(m);
    const listed = s === undefined || isParseProblem(s) ? undefined : s;
    return verifyChain(set, m, entries.get(m) ?? [], listed?.historyKey ?? null, listed?.historyHead ?? null);
  });
  const timeline = machines.flatMap((c) => c.records).sort((a, b) =>
    Date.parse(a.record.time) - Date.parse(b.record.time) || (a.record.machine < b.record.machine ? -1 : a.record.machine > b.record.machine ? 1 : 0) || a.record.seq - b.record.seq);
  const problems = machines.flatMap((c) => c.problems);
  return { set, machines, timeline, problems, ok: problems.length === 0 };
}
