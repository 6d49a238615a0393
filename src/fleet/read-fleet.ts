import type { Declarations } from '../declarations/types.js';
import { InvalidNameError } from '../errors/index.js';
import { listSlotLeases } from '../rollout/lease-admin.js';
import { batchOf, planRollout } from '../rollout/planner.js';
import { readPause } from '../rollout/pause.js';
import { listQuarantines } from '../rollout/quarantine.js';
import { membersOf, removedFromSet } from '../rollout/set-plan.js';
import { readSetStatuses } from '../status/status-io.js';
import type { Store } from '../store/store.js';
import { viewSet, type SetView } from './fleet-view.js';

/**
 * Reads the fleet's state for `sets` (default: every set of the repo) from the store: each machine's last
 * report, slot holders, quarantines and pause, judged against the repo's desired digests (see viewSet). Machines
 * that report but are not in the repo's member list are shown after them when they still report (label-selected
 * late joiners), and apart, as removed, when they left the set (removedFromSet).
 * InvalidNameError for a set the repo does not declare.
 */
export async function readFleet(store: Store, decls: Declarations, options: { sets?: string[]; now: Date; staleAfterMs: number }): Promise<SetView[]> {
  const names = options.sets ?? [...decls.sets.keys()];
  const views: SetView[] = [];
  for (const name of names) {
    const set = decls.sets.get(name);
    if (set === undefined) throw new InvalidNameError(`the deploy repo declares no set ${JSON.stringify(name)}; it has: ${[...decls.sets.keys()].join(', ') || '(none)'}`, { set: name });
    const statuses = await readSetStatuses(store, name);
    const members = membersOf(decls, set);
    const removed = removedFromSet(decls, set, statuses, options.now, options.staleAfterMs);
    const joiners = [...statuses.keys()].filter((m) => !members.includes(m) && !removed.includes(m)).sort();
    const plan = planRollout({ set: name, target: set.closure, machines: members, settings: set.rollout, lateJoiners: joiners });
    const pause = await readPause(store, name);
    const quarantines = (await listQuarantines(store, name)).map((q) => ({ digest: q.digest, machines: q.failures.map((f) => f.machine) }));
    views.push(
      viewSet({
        set: name,
        desiredDigest: set.closure,
        machines: plan.order,
        batchOf: (m) => batchOf(plan, m),
        statuses,
        removed,
        // Only the current rollout's slots: what its gate counts, at a cost that does not grow with history.
        leases: await listSlotLeases(store, name, plan.rolloutId),
        quarantines,
        now: options.now,
        staleAfterMs: options.staleAfterMs,
        unreachableAfterMs: set.rollout.unreachableAfterMs,
        pause: pause === null ? null : { by: pause.by, at: pause.at, reason: pause.reason },
        suspended: set.suspended === true,
      }),
    );
  }
  return views;
}
