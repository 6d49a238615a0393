// The look-again rule of a young rollout (look-again.ts): pure, on marker times and a reader's clock given as
// numbers. The timelines below stand for batches of any length; a machine must look once while the batch it
// follows works, and only a few times per batch.
import { describe, expect, it } from 'vitest';
import { earliestDoneMs } from '../../src/rollout/batch-pace.js';
import { LOOK_AGAIN_MIN_MS, lookAgainMs } from '../../src/rollout/look-again.js';
import { planRollout, type RolloutPlan } from '../../src/rollout/planner.js';
import { digestFromHex } from '../../src/store/digest.js';

const NEW = digestFromHex('1'.repeat(64));
const T0 = Date.UTC(2026, 0, 5);
const S = 1_000;

function planOf(batches: number, size: number): RolloutPlan {
  const machines = Array.from({ length: batches * size }, (_, i) => `m${String(i).padStart(3, '0')}`);
  return planRollout({ set: 'web', target: NEW, machines, settings: { canary: 0, batchSize: { kind: 'count', count: size } } });
}

/** Markers: for each batch, the seconds after T0 at which its first machines turned Ready. */
function marks(plan: RolloutPlan, perBatch: number[][]): Map<string, number | undefined> {
  const out = new Map<string, number | undefined>();
  perBatch.forEach((times, k) => times.forEach((t, i) => out.set(plan.batches[k]![i]!, T0 + t * S)));
  return out;
}

describe('lookAgainMs: when a machine looks again while no pace is known', () => {
  const plan = planOf(6, 4);
  it.each([
    { name: 'nothing done, rollout just seen: the shortest wait', upTo: 2, batches: [], now: 0, want: LOOK_AGAIN_MIN_MS },
    { name: 'nothing done, seen 10 s ago: half of that', upTo: 2, batches: [], now: 10, want: 5 * S },
    { name: 'nothing done, seen 1 h ago (a long health check): half an hour', upTo: 2, batches: [], now: 3600, want: 1800 * S },
    { name: 'batch 0 half done at a steady rate: half of the time the rest should take', upTo: 2, batches: [[40, 60]], now: 70, want: 25 * S },
    { name: 'batch 0 stalled at its last machine: half the time since the last one, not a look a second', upTo: 2, batches: [[10, 20, 30]], now: 300, want: 135 * S },
    { name: 'batch 1 working 20 s: half of that for the machine two batches behind', upTo: 2, batches: [[100, 100, 100, 100]], now: 120, want: 10 * S },
    { name: 'a machine further back adds the batches in between at least as long as batch 1 so far', upTo: 4, batches: [[100, 100, 100, 100]], now: 120, want: 30 * S },
    { name: 'the batch it waits for is working: half its age (once it may no longer follow it a second at a time)', upTo: 1, batches: [[100, 100, 100, 100]], now: 120, want: 10 * S },
    { name: 'the batch it waits for is done: undefined', upTo: 1, batches: [[10, 10, 10, 10], [50, 50, 50, 50]], now: 120, want: undefined },
  ])('$name', ({ upTo, batches, now, want }) => {
    expect(lookAgainMs({ plan, upTo, marked: marks(plan, batches), failed: new Set(), nowMs: T0 + now * S, firstSeenMs: T0 })).toBe(want);
  });

  it('a failed machine counts as done and adds no time', () => {
    const marked = marks(plan, [[100, 100, 100]]);
    const failed = new Set([plan.batches[0]![3]!]);
    // Batch 0 done at 100 s, batch 1 working 100 s: two batches of at least 100 s lie between, (100 + 200) / 2.
    expect(lookAgainMs({ plan, upTo: 4, marked, failed, nowMs: T0 + 200 * S, firstSeenMs: T0 })).toBe(150 * S);
    // Not failed, its machine still works: batch 0 is the working one, half the time since its last marker.
    expect(lookAgainMs({ plan, upTo: 4, marked, failed: new Set(), nowMs: T0 + 200 * S, firstSeenMs: T0 })).toBe(50 * S);
  });

  it('batch 0 began no later than its first marker, even when this machine saw the rollout late', () => {
    // Seen at 150 s; batch 0's markers came at 40, 100 and 160 s: one every 60 s from 40 s, so its last one is
    // due about 200 s, half of the 35 s left from 165 s. Counted from 150 s it would look again in 2.5 s.
    const marked = marks(plan, [[40, 100, 160]]);
    expect(lookAgainMs({ plan, upTo: 2, marked, failed: new Set(), nowMs: T0 + 165 * S, firstSeenMs: T0 + 150 * S })).toBe(17_500);
  });
});

/**
 * Runs one machine of batch `mine` on a timeline where the rollout began when the machine first saw it and
 * every batch takes `batchMs` (batch k is done at (k + 1)·batchMs): it looks when lookAgainMs says, until it
 * looks while the batch right before its own works (then it follows it) or a pace is known and says when to
 * come back. Returns how many looks that took and when the deciding look came.
 */
function lookUntilCaught(mine: number, batchMs: number): { looks: number; atMs: number } {
  const plan = planOf(mine + 2, 3);
  let now = T0 + 1;
  for (let looks = 1; looks < 1_000; looks++) {
    const marked = new Map<string, number | undefined>();
    for (let k = 0; k < plan.batches.length; k++) {
      const doneAt = T0 + (k + 1) * batchMs;
      if (doneAt <= now) for (const m of plan.batches[k]!) marked.set(m, doneAt);
    }
    const working = plan.batches.findIndex((b) => !marked.has(b[0]!));
    if (working === mine - 1 || earliestDoneMs(plan, mine - 1, marked, new Set()) !== undefined) return { looks, atMs: now - T0 };
    const wait = lookAgainMs({ plan, upTo: mine - 1, marked, failed: new Set(), nowMs: now, firstSeenMs: T0 });
    if (wait === undefined) throw new Error('no wait while the batch before is not working');
    now += wait;
  }
  throw new Error('never caught');
}

describe('lookAgainMs over a whole batch, whatever its length', () => {
  it.each([2 * S, 30 * S, 30 * 60 * S, 6 * 3600 * S])('batch 2 looks while batch 1 works, in a few looks (batches of %d ms)', (batchMs) => {
    const r = lookUntilCaught(2, batchMs);
    expect(r.atMs).toBeGreaterThanOrEqual(batchMs);
    expect(r.atMs).toBeLessThan(2 * batchMs);
    // Geometric by 1.5 from one second: about 2.5·ln(batch / 1 s) looks, never one a second.
    expect(r.looks).toBeLessThanOrEqual(Math.ceil(Math.log(batchMs / S) / Math.log(1.5)) + 3);
  });

  it.each([3, 8])('batch %i looks before the batch right before its own can be done', (mine) => {
    for (const batchMs of [5 * S, 30 * S, 3600 * S]) {
      const r = lookUntilCaught(mine, batchMs);
      expect(r.atMs).toBeLessThan(mine * batchMs);
      // Batch 0's looks, then a few more from when batch 0 was done: still the order of log(batch / 1 s).
      expect(r.looks).toBeLessThanOrEqual(Math.ceil(Math.log(batchMs / S) / Math.log(1.5)) + 8);
    }
  });
});
