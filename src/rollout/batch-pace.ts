// When can a batch be done at the earliest? Read from the Ready markers' times: the batches already done
// show how long a batch takes here (start to Ready, overhead included), so a machine whose turn depends on
// a batch still working need not look before that batch can possibly be done.
import type { RolloutPlan } from './planner.js';

/**
 * When each of batches 0..`upTo` was all done by its Ready markers (the latest marker time of its machines;
 * failed machines count as done and add no time), up to the first batch that is not: its entry and the
 * later ones are undefined, as is a done batch whose markers carry no time.
 */
export function batchDoneTimes(plan: RolloutPlan, upTo: number, marked: ReadonlyMap<string, number | undefined>, failed: ReadonlySet<string>): (number | undefined)[] {
  const out: (number | undefined)[] = [];
  for (let k = 0; k <= upTo; k++) {
    const machines = plan.batches[k] ?? [];
    if (!machines.every((m) => marked.has(m) || failed.has(m))) break;
    const times = machines.filter((m) => marked.has(m)).map((m) => marked.get(m));
    out.push(times.some((t) => t === undefined) ? undefined : Math.max(0, ...(times as number[])));
  }
  while (out.length <= upTo) out.push(undefined);
  return out;
}

/**
 * The earliest time (ms since the epoch, store clock) batch `upTo` can be all done: with batch w the first
 * one not done, the time batch w−1 was done plus (upTo − w + 1) times the quickest machine seen so far (from
 * its batch's start, the batch before it turning done, to its own Ready marker). Not the shortest batch: a
 * batch is done with its slowest machine, and batches get quicker when the commit's burst of ticks and
 * fetches is over, so a batch quicker than every one before it was waited for up to that difference (29 s
 * of a 37 s wait in a 100-agent replay); a batch quicker than its quickest machine cannot be. Undefined when
 * batch `upTo` is done already, or when too little is known (fewer than two batches done in a row before
 * w): then the caller looks as it always did. Wall clocks of the store and the reader meet here, but only
 * to choose when to look again: a skewed clock makes a machine look a little early or late, never go early.
 */
export function earliestDoneMs(plan: RolloutPlan, upTo: number, marked: ReadonlyMap<string, number | undefined>, failed: ReadonlySet<string>): number | undefined {
  if (upTo < 0) return undefined;
  const done = batchDoneTimes(plan, upTo, marked, failed);
  const w = done.findIndex((t, k) => t === undefined && !isDone(plan, k, marked, failed));
  if (w <= 1) return undefined;
  let shortest = Number.POSITIVE_INFINITY;
  for (let k = 1; k < w; k++) {
    const start = done[k - 1];
    if (start === undefined || done[k] === undefined) continue;
    for (const m of plan.batches[k] ?? []) {
      const t = marked.get(m);
      if (t !== undefined) shortest = Math.min(shortest, t - start);
    }
  }
  const last = done[w - 1];
  if (last === undefined || !Number.isFinite(shortest)) return undefined;
  return last + (upTo - w + 1) * Math.max(0, shortest);
}

function isDone(plan: RolloutPlan, k: number, marked: ReadonlyMap<string, number | undefined>, failed: ReadonlySet<string>): boolean {
  return (plan.batches[k] ?? []).every((m) => marked.has(m) || failed.has(m));
}
