import { runPool } from '../util/run-pool.js';
import type { MachineStatus, ParseProblem } from '../status/machine-status.js';
import { readMachineStatus } from '../status/status-io.js';
import type { Store } from '../store/store.js';
import { firstBlocking, firstLagging, type DoneRule } from './gate.js';
import type { RolloutPlan } from './planner.js';

/** Gets in flight at once when a batch is large (a percent of a big set). */
const READ_CONCURRENCY = 16;

/**
 * Machines already seen done (Ready on the target) during one gate decision and the re-decisions that
 * follow it within seconds: they are not read again. Safe because a done machine can only stop being done
 * by failing, which writes the quarantine record, and the gate reads that record every time.
 */
export type SeenDone = Map<string, MachineStatus>;

async function readBatch(store: Store, plan: RolloutPlan, machines: readonly string[], out: Map<string, MachineStatus | ParseProblem>, rule: DoneRule, seen?: SeenDone): Promise<void> {
  await runPool(machines, READ_CONCURRENCY, async (m) => {
    const known = seen?.get(m);
    const s = known ?? (await readMachineStatus(store, plan.set, m));
    if (s === null) return;
    out.set(m, s);
    if (seen !== undefined && known === undefined && firstLagging([m], out, rule) === undefined) seen.set(m, s as MachineStatus);
  });
}

/**
 * The statuses the gate needs for a machine of batch `batch`: the earlier batches', nearest batch first,
 * each batch's files read concurrently, stopping after the first batch that has a machine not done (and,
 * when that is the batch right before, the one before it: its first machine, and the rest only if that one
 * is done). With an unavailability budget (`rule.silentAfterMs`), a machine gone silent does not stop the
 * reading: the gate may step over it. The gate (decideGate) walks the batches in the same order and stops at the same machine, so
 * what is not read is never looked at. A waiting machine thus reads about one batch of status files per
 * tick instead of every file of the set, and while it follows the batch before (re-deciding every few
 * hundred ms) only that batch's machines not yet `seen` done. Machines that never reported are absent.
 */
export async function readEarlierBatches(store: Store, plan: RolloutPlan, batch: number, rule: DoneRule, seen?: SeenDone): Promise<Map<string, MachineStatus | ParseProblem>> {
  const out = new Map<string, MachineStatus | ParseProblem>();
  for (let k = batch - 1; k >= 0; k--) {
    const machines = plan.batches[k] ?? [];
    await readBatch(store, plan, machines, out, rule, seen);
    if (firstBlocking(machines, out, rule) === undefined) continue;
    // Whether the batch before that one is done tells the gate the nearest one is working now (its hint to
    // look again soon). Far from the front its first machine is not done: one get is enough to know.
    if (k === batch - 1 && k > 0) {
      const [head, ...rest] = plan.batches[k - 1] ?? [];
      if (head === undefined) break;
      await readBatch(store, plan, [head], out, rule, seen);
      if (firstBlocking([head], out, rule) === undefined) await readBatch(store, plan, rest, out, rule, seen);
    }
    break;
  }
  return out;
}

/** A machine of an earlier batch that is not done, with what it reported (undefined: never reported). */
export interface NotDone {
  batch: number;
  machine: string;
  status: MachineStatus | ParseProblem | undefined;
}

/**
 * The first machine of batches < `end`, nearest batch first, that is not done (nor silent, with a budget:
 * fetching ahead need not wait for a machine the gate may step over); undefined when all are.
 * Reads one file at a time and stops at the first such machine: while the rollout front is far away,
 * that is a single get.
 */
export async function firstNotDoneBefore(store: Store, plan: RolloutPlan, end: number, rule: DoneRule): Promise<NotDone | undefined> {
  const seen = new Map<string, MachineStatus | ParseProblem>();
  for (let k = end - 1; k >= 0; k--) {
    for (const m of plan.batches[k] ?? []) {
      if (rule.failed.has(m)) continue;
      const s = await readMachineStatus(store, plan.set, m);
      if (s !== null) seen.set(m, s);
      if (firstBlocking([m], seen, rule) !== undefined) return { batch: k, machine: m, status: s ?? undefined };
    }
  }
  return undefined;
}
