// When to look again at a rollout whose pace is not known yet. A machine of batch k must look once while batch
// k − 1 works (then it follows it, about once a second) or once after two batches are done (then batch-pace.ts
// says when batch k − 1 can be done). Before either, nothing says how long a batch takes here, yet a machine
// that waits for its poll (5 minutes, an hour) misses the batch before it by up to a poll. So it looks again
// after a fraction of what it can tell of the working batch: geometrically since that batch began while none of
// it is done (a batch of any length costs a few looks, never a LIST a second), and, once its first machines
// are done, at a fraction of the time the rest should take at the rate they came.
import type { RolloutPlan } from './planner.js';

/**
 * The fraction (1 / LOOK_AGAIN_DIVISOR) of the estimated time left that a machine waits before its next look.
 * 2: a look lands within half a batch of the batch before turning done (the window to catch is a whole batch),
 * and the looks grow by half each time, about 2·ln(duration / 1 s) in all while nothing is done.
 */
export const LOOK_AGAIN_DIVISOR = 2;

/** The shortest wait between looks: a look is one LIST, and a batch's turn is judged to about a second anyway. */
export const LOOK_AGAIN_MIN_MS = 1_000;

/** What lookAgainMs reads: the plan, the markers seen (machine → store time, ms), the failed machines. */
export interface LookAgainInput {
  plan: RolloutPlan;
  /** The batch this machine waits for (its own batch − 1). */
  upTo: number;
  marked: ReadonlyMap<string, number | undefined>;
  failed: ReadonlySet<string>;
  /** The reader's wall clock now, ms since the epoch. */
  nowMs: number;
  /** When this machine first saw this rollout (wall clock ms): batch 0 began no later, as far as it can tell. */
  firstSeenMs: number;
}

/**
 * How long to wait (ms, at least LOOK_AGAIN_MIN_MS) before looking at the rollout again, or undefined when
 * batch `upTo` is done. When batch `upTo` is itself the working batch the caller follows it about once a
 * second instead, and uses this only once its follow budget is spent (a batch 0 spread over a long poll).
 * With w the first batch not all done (marked or failed) and s when it began (batch w − 1's last marker time;
 * for batch 0, the earlier of `firstSeenMs` and its first marker):
 * - none of batch w done yet: it has worked τ = now − s and may take as long again, so look after τ / divisor;
 * - m of its n machines done, the last at r: the rest should take (n − m)·(r − s)/m from r, at the rate they
 *   came (batch 0's machines start at their own polls, spread over one); look after the smaller of that time
 *   left and τ, divided, but at least after (now − r) / divisor, so a machine that never turns done (off,
 *   stuck) costs geometric looks too;
 * - a machine waiting further back adds (upTo − w − 1)·τ before dividing, since each batch between takes at
 *   least as long as batch w has already worked (unknown for batch 0, whose start is spread over a poll).
 * The store's clock (marker times) meets the reader's only here, to choose when to look: a skewed clock makes
 * a machine look early or late, never go early.
 */
export function lookAgainMs(input: LookAgainInput): number | undefined {
  const { plan, upTo, marked, failed, nowMs } = input;
  const w = plan.batches.findIndex((b, k) => k <= upTo && !b.every((m) => marked.has(m) || failed.has(m)));
  if (w < 0) return undefined;
  const machines = plan.batches[w] ?? [];
  const times = machines.flatMap((m) => (failed.has(m) ? [] : [marked.get(m)])).filter((t): t is number => t !== undefined);
  const start = startOf(input, w, times);
  const tau = Math.max(0, nowMs - start);
  const left = machines.filter((m) => !marked.has(m) && !failed.has(m)).length;
  let estimate = tau;
  if (times.length > 0) {
    const last = Math.max(...times);
    const rest = last + (left * Math.max(0, last - start)) / times.length - nowMs;
    estimate = Math.max(Math.min(rest, tau), nowMs - last);
  }
  const behind = w >= 1 ? Math.max(0, upTo - w - 1) * tau : 0;
  return Math.max(LOOK_AGAIN_MIN_MS, Math.round((Math.max(0, estimate) + behind) / LOOK_AGAIN_DIVISOR));
}

/** When batch `w` began as far as the markers and this machine can tell (see lookAgainMs). */
function startOf(input: LookAgainInput, w: number, times: readonly number[]): number {
  if (w === 0) return Math.min(input.firstSeenMs, ...times);
  const before = (input.plan.batches[w - 1] ?? []).map((m) => input.marked.get(m)).filter((t): t is number => t !== undefined);
  return before.length > 0 ? Math.max(...before) : input.firstSeenMs;
}
