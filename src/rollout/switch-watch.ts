// When to look at the batch right before this machine's while it works, from its switching markers. A machine
// writes one when it passes its gate (ready-marker.ts), so the same LIST that says which machines are Ready
// also says which of the others have begun, and since when. A batch whose machines start at their own polls
// (batch 0 at an hour's poll: one every 72 s, the last up to an hour late) is then followed cheaply: a look every
// half of the shortest switch seen catches each start before it can be done, and once every machine left is
// switching, one look just before the earliest it can be done and a look a second after that catch the end.
// The follow budget (step-gate.ts) bounds looks a second by time; this bounds them by what is seen working.
import type { RolloutPlan } from './planner.js';

/**
 * How long before the earliest moment the last switching machine can be done a machine starts looking each
 * second: the shortest switch seen is a measure, not a bound, and a look takes a round trip.
 */
export const SWITCH_LOOK_MARGIN_MS = 1_000;

/** The shortest wait between scan looks (one LIST each). */
export const SWITCH_SCAN_MIN_MS = 1_000;

/**
 * How long a batch may show no progress (no new Ready or switching marker in it, nor its start) before its
 * watch ends: a machine off or stuck is then looked at as any wait is (look-again.ts, the follow budget),
 * not every few seconds for as long as it lasts. Also how old a switching marker may be to count as working.
 */
export const SWITCH_WATCH_MAX_QUIET_MS = 15 * 60_000;

/** What watchSwitching reads: the plan, both kinds of markers (machine → store time, ms), the failed machines. */
export interface SwitchWatchInput {
  plan: RolloutPlan;
  /** The batch this machine waits for (its own batch − 1). */
  upTo: number;
  /** Machines done by a Ready marker (time) or by their status file (undefined). */
  marked: ReadonlyMap<string, number | undefined>;
  switching: ReadonlyMap<string, number | undefined>;
  failed: ReadonlySet<string>;
  /** The reader's wall clock now, ms since the epoch. */
  nowMs: number;
}

/**
 * `switching`: every machine left in the batch is switching; follow it, from `earliestMs` (store clock) when a
 * switch was seen to its end. `scan`: some have not begun; look again after `lookMs`.
 */
export type SwitchWatch = { kind: 'switching'; earliestMs?: number } | { kind: 'scan'; lookMs: number };

/**
 * The watch of batch `upTo` when it is the working batch (every batch before it done) and not done, else
 * undefined (the caller's other rules apply). With D the shortest switch seen in this rollout (a machine's Ready
 * marker time minus its switching marker time):
 * - every machine left has a switching marker younger than SWITCH_WATCH_MAX_QUIET_MS: `switching`, with
 *   `earliestMs` = the latest of their starts + D − SWITCH_LOOK_MARGIN_MS when D is known;
 * - else, when D is known and the batch showed progress within SWITCH_WATCH_MAX_QUIET_MS: `scan` every D / 2, so a
 *   machine that begins is seen switching before it can be done;
 * - else undefined.
 */
export function watchSwitching(input: SwitchWatchInput): SwitchWatch | undefined {
  const { plan, upTo, marked, switching, failed, nowMs } = input;
  if (upTo < 0) return undefined;
  const done = (m: string): boolean => marked.has(m) || failed.has(m);
  for (let k = 0; k < upTo; k++) if (!(plan.batches[k] ?? []).every(done)) return undefined;
  const batch = plan.batches[upTo] ?? [];
  const lagging = batch.filter((m) => !done(m));
  if (lagging.length === 0) return undefined;
  const shortest = shortestSwitch(marked, switching);
  const starts = lagging.map((m) => switching.get(m));
  const fresh = (t: number | undefined): t is number => t !== undefined && nowMs - t < SWITCH_WATCH_MAX_QUIET_MS;
  if (starts.every(fresh)) {
    const latest = Math.max(...starts);
    return shortest === undefined ? { kind: 'switching' } : { kind: 'switching', earliestMs: latest + shortest - SWITCH_LOOK_MARGIN_MS };
  }
  if (shortest === undefined) return undefined;
  const before = upTo > 0 ? (plan.batches[upTo - 1] ?? []) : [];
  const progress = [...batch, ...before].flatMap((m) => [marked.get(m), switching.get(m)]).filter((t): t is number => t !== undefined);
  if (progress.length === 0 || nowMs - Math.max(...progress) >= SWITCH_WATCH_MAX_QUIET_MS) return undefined;
  return { kind: 'scan', lookMs: Math.max(SWITCH_SCAN_MIN_MS, Math.floor(shortest / 2)) };
}

/** The shortest switch (Ready marker time − switching marker time, ms) of any machine of the rollout, if any. */
function shortestSwitch(marked: ReadonlyMap<string, number | undefined>, switching: ReadonlyMap<string, number | undefined>): number | undefined {
  let out: number | undefined;
  for (const [m, start] of switching) {
    const end = marked.get(m);
    if (start !== undefined && end !== undefined && end >= start) out = Math.min(out ?? Number.POSITIVE_INFINITY, end - start);
  }
  return out;
}
