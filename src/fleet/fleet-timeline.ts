import type { HistoryRecord } from '../history/history-record.js';
import { isParseProblem } from '../status/machine-status.js';
import type { SetReading } from './read-fleet.js';

/** How an event reads at a glance: a failure, a success, or neither. */
export type EventTone = 'bad' | 'good' | 'info';

/** One past transition of a machine, as far as the store's current reports and records tell. */
export interface TimelineEvent {
  time: string;
  set: string;
  machine: string;
  what: string;
  tone: EventTone;
}

/** How many events the page keeps: enough for a rollout of a few batches, small enough to read on a phone. */
export const TIMELINE_LIMIT = 40;

/** How one deployment-log record reads on the page; a record whose chain does not verify says so first. */
function historyEvent(r: HistoryRecord, verified: boolean): TimelineEvent {
  const at = r.commit === null ? '' : ` at ${r.commit.slice(0, 12)}`;
  const what =
    r.event === 'switch' ? `switched ${r.from ?? 'nothing'} → ${r.to ?? 'nothing'} (generation ${r.generation ?? '?'}${at})`
    : r.event === 'rollback' ? `rolled back ${r.from ?? 'nothing'} → ${r.to ?? 'nothing'}: ${r.reason}`
    : r.event === 'quarantine' ? `quarantined ${r.from ?? '?'}: ${r.message}`
    : r.event === 'pause' ? `held: ${r.reason}`
    : `resumed${at}`;
  const tone: EventTone = !verified || r.event === 'rollback' || r.event === 'quarantine' ? 'bad' : r.event === 'switch' ? 'good' : 'info';
  return { time: r.time, set: r.set, machine: r.machine, what: verified ? what : `UNVERIFIED (see flotilla history ${r.set}): ${what}`, tone };
}

/**
 * The set's recent events, newest first, at most TIMELINE_LIMIT (pure). A machine with a deployment log
 * (read with `withHistory`) is told by its records, verified; for any other machine (an agent older than the
 * log) the events derivable from the store stand in: its report's condition transitions (their
 * lastTransitionTime) and its quarantine failures, of which older ones were overwritten and cannot be shown.
 * A pause marker is always an event (the operator's, not a machine's).
 */
export function timelineOf(readings: readonly SetReading[]): TimelineEvent[] {
  const events: TimelineEvent[] = [];
  for (const r of readings) {
    const set = r.view.set;
    const logged = new Set<string>();
    for (const { record, verified } of r.history?.timeline ?? []) {
      logged.add(record.machine);
      events.push(historyEvent(record, verified));
    }
    for (const s of r.statuses.values()) {
      if (isParseProblem(s) || logged.has(s.machine)) continue;
      // Conditions that changed in the same tick share a time: one event per tick, told by the weightiest.
      const times = new Set(s.conditions.map((c) => c.lastTransitionTime));
      for (const time of times) {
        const at = s.conditions.filter((c) => c.lastTransitionTime === time && (c.status === 'True' || c.type === 'Ready'));
        const lead = at.find((c) => c.type === 'Stalled') ?? at.find((c) => c.type === 'Ready') ?? at[0];
        if (lead === undefined) continue;
        const tone: EventTone = lead.type === 'Stalled' ? 'bad' : lead.type === 'Ready' && lead.status === 'True' ? 'good' : 'info';
        events.push({ time, set, machine: s.machine, what: `${lead.type} ${lead.status}: ${lead.reason}${lead.message ? ` (${lead.message})` : ''}`, tone });
      }
    }
    for (const q of r.quarantines) {
      for (const f of q.failures.filter((x) => !logged.has(x.machine))) events.push({ time: f.time, set, machine: f.machine, what: `quarantined ${q.digest}: ${f.reason}`, tone: 'bad' });
    }
    if (r.pause) events.push({ time: r.pause.at, set, machine: r.pause.by, what: `paused the set${r.pause.reason ? `: ${r.pause.reason}` : ''}`, tone: 'info' });
  }
  return events.sort((a, b) => b.time.localeCompare(a.time) || a.machine.localeCompare(b.machine)).slice(0, TIMELINE_LIMIT);
}
