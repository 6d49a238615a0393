import { runPool } from '../packages/run-pool.js';
import type { MachineStatus, ParseProblem } from '../status/machine-status.js';
import { readMachineStatus } from '../status/status-io.js';
import type { Store } from '../store/store.js';
import { firstLagging, type DoneRule } from './gate.js';
import type { RolloutPlan } from './planner.js';

/** Gets in flight at once when a batch is large (a percent of a big set). */
const READ_CONCURRENCY = 16;

/**
 * The statuses the gate needs for a machine of batch `batch`: the earlier batches', nearest batch first,
 * each batch's files read concurrently, stopping after the first batch that has a machine not done. The
 * gate (decideGate) walks the batches in the same order and stops at the same machine, so what is not read
 * is never looked at. A waiting machine thus reads about one batch of status files per tick instead of
 * every file of the set. Machines that never reported are absent from the map.
 */
export async function readEarlierBatches(store: Store, plan: RolloutPlan, batch: number, rule: DoneRule): Promise<Map<string, MachineStatus | ParseProblem>> {
  const out = new Map<string, MachineStatus | ParseProblem>();
  for (let k = batch - 1; k >= 0; k--) {
    const machines = plan.batches[k] ?? [];
    await runPool(machines, READ_CONCURRENCY, async (m) => {
      const s = await readMachineStatus(store, plan.set, m);
      if (s !== null) out.set(m, s);
    });
    if (firstLagging(machines, out, rule) !== undefined) break;
  }
  return out;
}
