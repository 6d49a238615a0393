import type { Declarations } from '../declarations/types.js';
import { InvalidNameError } from '../errors/index.js';
import { readVerifiedHistory, type SetHistory } from '../history/verify-set-history.js';
import { listSlotLeases } from '../rollout/lease-admin.js';
import { batchOf, planRollout, type RolloutPlan } from '../rollout/planner.js';
import { readPause } from '../rollout/pause.js';
import { listQuarantines } from '../rollout/quarantine.js';
import type { QuarantineRecord } from '../rollout/quarantine-record.js';
import { membersOf, removedFromSet } from '../rollout/set-plan.js';
import type { MachineStatus, ParseProblem } from '../status/machine-status.js';
import { readSetStatuses } from '../status/status-io.js';
import type { Store } from '../store/store.js';
import { viewSet, type SetView } from './fleet-view.js';

/** An emergency pause of a set (`flotilla pause`, pauses/SET.json) as the fleet page shows it. */
export interface PauseView {
  by: string;
  /** ISO 8601 instant the pause was written. */
  at: string;
  reason?: string;
}

/** One set as read from the store: the judged view, plus the raw facts the fleet page shows beside it. */
export interface SetReading {
  view: SetView;
  /** The current rollout: its id, batches (0 = canary when the set has canaries) and slot count. */
  plan: RolloutPlan;
  /** The set's rollout.canary: how many leading machines form the canary batch. */
  canary: number;
  statuses: ReadonlyMap<string, MachineStatus | ParseProblem>;
  quarantines: QuarantineRecord[];
  pause: PauseView | null;
  /** The set's deployment log, verified (only when asked with `withHistory`: the fleet page reads it). */
  history?: SetHistory;
}

/** What readFleetReadings needs besides the store and the declarations. */
export interface ReadFleetOptions {
  sets?: string[];
  now: Date;
  staleAfterMs: number;
  /** Also read and verify every machine's deployment log (history/SET/…): the fleet page's timeline. */
  withHistory?: boolean;
}

/**
 * Reads the fleet's state for `sets` (default: every set of the repo) from the store: each machine's last
 * report, slot holders, quarantines and pause, judged against the repo's desired digests (see viewSet). Machines
 * that report but are not in the repo's member list are shown after them when they still report (label-selected
 * late joiners), and apart, as removed, when they left the set (removedFromSet).
 * InvalidNameError for a set the repo does not declare.
 */
export async function readFleet(store: Store, decls: Declarations, options: ReadFleetOptions): Promise<SetView[]> {
  return (await readFleetReadings(store, decls, options)).map((r) => r.view);
}

/** readFleet with the facts behind each view (plan, reports, quarantine records, pause), for the fleet page. */
export async function readFleetReadings(store: Store, decls: Declarations, options: ReadFleetOptions): Promise<SetReading[]> {
  const names = options.sets ?? [...decls.sets.keys()];
  const readings: SetReading[] = [];
  for (const name of names) {
    const set = decls.sets.get(name);
    if (set === undefined) throw new InvalidNameError(`the deploy repo declares no set ${JSON.stringify(name)}; it has: ${[...decls.sets.keys()].join(', ') || '(none)'}`, { set: name });
    const statuses = await readSetStatuses(store, name);
    const members = membersOf(decls, set);
    const removed = removedFromSet(decls, set, statuses, options.now, options.staleAfterMs);
    const joiners = [...statuses.keys()].filter((m) => !members.includes(m) && !removed.includes(m)).sort();
    const plan = planRollout({ set: name, target: set.closure, machines: members, settings: set.rollout, lateJoiners: joiners });
    const quarantines = await listQuarantines(store, name);
    const marker = await readPause(store, name);
    const pause = marker === null ? null : { by: marker.by, at: marker.at, reason: marker.reason };
    const view = viewSet({
      set: name,
      desiredDigest: set.closure,
      machines: plan.order,
      batchOf: (m) => batchOf(plan, m),
      statuses,
      removed,
      // Only the current rollout's slots: what its gate counts, at a cost that does not grow with history.
      leases: await listSlotLeases(store, name, plan.rolloutId),
      quarantines: quarantines.map((q) => ({ digest: q.digest, machines: q.failures.map((f) => f.machine) })),
      now: options.now,
      staleAfterMs: options.staleAfterMs,
      unreachableAfterMs: set.rollout.unreachableAfterMs,
      pause,
      suspended: set.suspended === true,
    });
    const history = options.withHistory === true ? await readVerifiedHistory(store, name, undefined, statuses) : undefined;
    readings.push({ view, plan, canary: set.rollout.canary, statuses, quarantines, pause, ...(history ? { history } : {}) });
  }
  return readings;
}
