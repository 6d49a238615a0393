import { runPool } from '../util/run-pool.js';
import type { MachineStatus, ParseProblem } from '../status/machine-status.js';
import { readMachineStatus } from '../status/status-io.js';
import type { Store } from '../store/store.js';
import { firstBlocking, firstLagging, type DoneRule } from './gate.js';
import type { RolloutPlan } from './planner.js';

/** Gets in flight at once when a batch is large (a percent of a big set). */
const READ_CONCURRENCY = 16;

/** Where a reader of status files gets them: machine → status for those that reported. */
export type StatusSource = (machines: readonly string[]) => Promise<ReadonlyMap<string, MachineStatus | ParseProblem>>;

/** A source that gets every file asked for (one GET each, concurrently): for one-off readers. */
export function directSource(store: Store, set: string): StatusSource {
  return async (machines) => {
    const out = new Map<string, MachineStatus | ParseProblem>();
    await runPool(machines, READ_CONCURRENCY, async (m) => {
      const s = await readMachineStatus(store, set, m);
      if (s !== null) out.set(m, s);
    });
    return out;
  };
}

/**
 * Machines of one rollout seen done (Ready on the target), with the report that showed it (null: done by
 * induction, never read). Kept across the decisions of the rollout: see DoneRule.remembered for why that
 * is safe. Their files are not fetched again.
 */
export type DoneMemory = Map<string, MachineStatus | null>;

async function readBatch(source: StatusSource, machines: readonly string[], out: Map<string, MachineStatus | ParseProblem>, rule: DoneRule, done?: DoneMemory): Promise<void> {
  const known = (m: string): boolean => done?.has(m) === true;
  for (const m of machines) {
    const s = done?.get(m);
    if (s) out.set(m, s);
  }
  const read = await source(machines.filter((m) => !known(m)));
  for (const [m, s] of read) {
    out.set(m, s);
    if (done !== undefined && !rule.failed.has(m) && firstLagging([m], out, rule) === undefined) done.set(m, s as MachineStatus);
  }
}

/** Marks every machine of batches < `end` done: the caller saw batch `end` done (see DoneRule.remembered). */
function rememberByInduction(plan: RolloutPlan, end: number, done: DoneMemory): void {
  for (let k = 0; k < end; k++) for (const m of plan.batches[k] ?? []) if (!done.has(m)) done.set(m, null);
}

/**
 * The statuses the gate needs for a machine of batch `batch`: the earlier batches', nearest batch first (each
 * batch from its first machine: the rest only when that one is done), stopping after the first batch that has a machine not done (and, when that is the batch right before, the
 * one before it: its first machine, and the rest only if that one is done). With an unavailability budget
 * (`rule.silentAfterMs`), a machine gone silent does not stop the reading: the gate may step over it. The
 * gate (decideGate) walks the batches in the same order and stops at the same machine, so what is not read
 * is never looked at. Machines that never reported are absent.
 *
 * With a `done` memory (the caller passes the same one as `rule.remembered` to the gate), machines already
 * seen done are not asked for again, and once the batch right before is all done with no budget, every
 * earlier batch is remembered done by induction: each of its machines passed this gate only when the
 * batches before it were. While the nearest batch works, the one before it is judged from its first and
 * last machine (see the comment below). A machine then reads its nearest batch and two files of the one
 * before, and only files that changed (with a listed source), whatever the set size.
 */
export async function readEarlierBatches(source: StatusSource, plan: RolloutPlan, batch: number, rule: DoneRule, done?: DoneMemory): Promise<Map<string, MachineStatus | ParseProblem>> {
  const out = new Map<string, MachineStatus | ParseProblem>();
  const r: DoneRule = done === undefined ? rule : { ...rule, remembered: done };
  for (let k = batch - 1; k >= 0; k--) {
    const machines = plan.batches[k] ?? [];
    // Its first machine first: while that one blocks, the gate stops there and the rest is never looked at
    // (a batch that has not started, or is still working, costs one file, not one per machine).
    const [first, ...others] = machines;
    if (first !== undefined) await readBatch(source, [first], out, r, done);
    if (first === undefined || firstBlocking([first], out, r) === undefined) await readBatch(source, others, out, r, done);
    if (firstBlocking(machines, out, r) === undefined) {
      if (done !== undefined && rule.silentAfterMs === undefined && machines.every((m) => done.has(m) || rule.failed.has(m))) {
        rememberByInduction(plan, k, done);
        break;
      }
      continue;
    }
    // Whether the batch before that one is done tells the gate the nearest one is working now (its hint to
    // look again soon). Far from the front its first machine is not done: one get is enough to know.
    if (k === batch - 1 && k > 0) {
      const [head, ...rest] = plan.batches[k - 1] ?? [];
      if (head === undefined) break;
      await readBatch(source, [head], out, r, done);
      if (firstBlocking([head], out, r) === undefined && done !== undefined && rule.silentAfterMs === undefined && rest.length > 1) {
        // With a memory and no budget, its first and last machine done are taken as the whole batch done:
        // this only says the nearest batch is working (look again soon). Nothing lets this machine go before
        // every machine of the nearest batch is read done, and each of those passed its gate only when this
        // batch was all done: by then it is done in fact (DoneRule.remembered).
        const last = rest[rest.length - 1] as string;
        await readBatch(source, [last], out, r, done);
        if (firstBlocking([last], out, r) === undefined) {
          for (const m of rest) if (!done.has(m)) done.set(m, null);
          rememberByInduction(plan, k - 1, done);
        }
      } else if (firstBlocking([head], out, r) === undefined) {
        await readBatch(source, rest, out, r, done);
        const before = plan.batches[k - 1] ?? [];
        if (done !== undefined && rule.silentAfterMs === undefined && before.every((m) => done.has(m) || rule.failed.has(m))) rememberByInduction(plan, k - 1, done);
      }
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
 * that is a single get. Without a budget, a batch found all done ends the reading (the batches before it are
 * done by induction, as in readEarlierBatches): at most one batch of files, not every earlier one. Machines
 * in `rule.remembered` (seen done, e.g. by their Ready marker) are done and not read.
 */
export async function firstNotDoneBefore(store: Store, plan: RolloutPlan, end: number, rule: DoneRule): Promise<NotDone | undefined> {
  const seen = new Map<string, MachineStatus | ParseProblem>();
  for (let k = end - 1; k >= 0; k--) {
    for (const m of plan.batches[k] ?? []) {
      if (rule.failed.has(m) || rule.remembered?.has(m) === true) continue;
      const s = await readMachineStatus(store, plan.set, m);
      if (s !== null) seen.set(m, s);
      if (firstBlocking([m], seen, rule) !== undefined) return { batch: k, machine: m, status: s ?? undefined };
    }
    if (rule.silentAfterMs === undefined) return undefined;
  }
  return undefined;
}
