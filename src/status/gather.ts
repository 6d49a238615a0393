import type { Store } from '../store/store.js';
import type { Digest } from '../store/digest.js';
import { listSlotLeases } from '../rollout/lease-admin.js';
import { batchOf, type RolloutPlan } from '../rollout/planner.js';
import { listQuarantines } from '../rollout/quarantine.js';
import { viewSet, type SetView } from './fleet-view.js';
import { readSetStatuses } from './status-io.js';

/**
 * Reads what `flotilla status` shows for one set from the store (status files, slot leases of the
 * current rollout, quarantines) and summarises it with viewSet. `machines` are the set's members from
 * the deploy repo; a machine that reports but is not a member is listed in `strays` (never counted).
 * Store errors pass through; malformed files appear as Invalid rows, not errors.
 */
export async function gatherSetView(
  store: Store,
  input: { set: string; desiredDigest: Digest | null; machines: readonly string[]; plan: RolloutPlan | null; now: Date; staleAfterMs: number },
): Promise<SetView> {
  const [statuses, leases, quarantines] = await Promise.all([
    readSetStatuses(store, input.set),
    input.plan === null ? Promise.resolve([]) : listSlotLeases(store, input.set, input.plan.rolloutId),
    listQuarantines(store, input.set),
  ]);
  const members = input.plan?.order ?? [...input.machines];
  const strays = [...statuses.keys()].filter((m) => !members.includes(m)).sort();
  const plan = input.plan;
  const view = viewSet({
    set: input.set,
    desiredDigest: input.desiredDigest,
    machines: members,
    ...(plan === null ? {} : { batchOf: (m: string) => batchOf(plan, m) }),
    statuses,
    leases: leases.map(({ key: _key, ...l }) => l),
    quarantines: quarantines.map((q) => ({ digest: q.digest, machines: q.failures.map((f) => f.machine) })),
    now: input.now,
    staleAfterMs: input.staleAfterMs,
  });
  return { ...view, strays };
}
