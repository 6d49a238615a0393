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

/**
 * The recent events derivable from the store without a history log (pure): each report's condition
 * transitions (their lastTransitionTime), each quarantine failure, each pause, newest first, at most
 * TIMELINE_LIMIT. Older transitions were overwritten by newer reports and cannot be shown.
 */
export function timelineOf(readings: readonly SetReading[]): TimelineEvent[] {
  const events: TimelineEvent[] = [];
  for (const r of readings) {
    const set = r.view.set;
    for (const s of r.statuses.values()) {
      if (isParseProblem(s)) continue;
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
      for (const f of q.failures) events.push({ time: f.time, set, machine: f.machine, what: `quarantined ${q.digest}: ${f.reason}`, tone: 'bad' });
    }
    if (r.pause) events.push({ time: r.pause.at, set, machine: r.pause.by, what: `paused the set${r.pause.reason ? `: ${r.pause.reason}` : ''}`, tone: 'info' });
  }
  return events.sort((a, b) => b.time.localeCompare(a.time) || a.machine.localeCompare(b.machine)).slice(0, TIMELINE_LIMIT);
}
