// The switch watch (switch-watch.ts): the batch right before is followed by what its switching markers show.
import { describe, expect, it } from 'vitest';
import { GateMemory } from '../../src/rollout/gate-memory.js';
import { decideWithReads } from '../../src/rollout/gate-reads.js';
import { PREVIOUS_BATCH_RETRY_MS } from '../../src/rollout/gate.js';
import { planRollout, type RolloutPlan } from '../../src/rollout/planner.js';
import { writeReadyMarker, writeSwitchingMarker } from '../../src/rollout/ready-marker.js';
import { SWITCH_LOOK_MARGIN_MS, SWITCH_WATCH_MAX_QUIET_MS, watchSwitching, type SwitchWatchInput } from '../../src/rollout/switch-watch.js';
import { Reason } from '../../src/status/conditions.js';
import { digestFromHex } from '../../src/store/digest.js';
import { tempFsStore } from './lease-helpers.js';

const NEW = digestFromHex('3'.repeat(64));
const S = 1_000;
const T = 10_000 * S;

function planOf(batches: number, size: number): RolloutPlan {
  const machines = Array.from({ length: batches * size }, (_, i) => `m${String(i).padStart(3, '0')}`);
  return planRollout({ set: 'web', target: NEW, machines, settings: { canary: 0, batchSize: { kind: 'count', count: size } } });
}

const plan = planOf(3, 3);
const [b0, b1] = [plan.batches[0]!, plan.batches[1]!];
/** Batch 0 done; in batch 1, b1[0] switched in 31 s (the shortest seen) and is Ready. */
const marked = new Map<string, number | undefined>([...b0.map((m) => [m, T - 200 * S] as const), [b1[0]!, T - 20 * S]]);
const switched = (more: [string, number][]): Map<string, number | undefined> => new Map([[b1[0]!, T - 51 * S], ...more]);
const input = (over: Partial<SwitchWatchInput>): SwitchWatchInput => ({ plan, upTo: 1, marked, switching: switched([]), failed: new Set(), nowMs: T, ...over });

describe('watchSwitching', () => {
  const rows: { name: string; over: Partial<SwitchWatchInput>; want: ReturnType<typeof watchSwitching> }[] = [
    {
      name: 'every machine left switching: follow, from the latest start plus the shortest switch, less the margin',
      over: { switching: switched([[b1[1]!, T - 10 * S], [b1[2]!, T - 4 * S]]) },
      want: { kind: 'switching', earliestMs: T - 4 * S + 31 * S - SWITCH_LOOK_MARGIN_MS },
    },
    { name: 'one machine left not begun: scan at half the shortest switch', over: { switching: switched([[b1[1]!, T - 10 * S]]) }, want: { kind: 'scan', lookMs: 15_500 } },
    { name: 'a failed machine counts as done', over: { switching: switched([[b1[1]!, T - 10 * S]]), failed: new Set([b1[2]!]) }, want: { kind: 'switching', earliestMs: T - 10 * S + 31 * S - SWITCH_LOOK_MARGIN_MS } },
    { name: 'no switch seen to its end: no scan (the caller\'s rules)', over: { marked: new Map(b0.map((m) => [m, T - 200 * S])), switching: switched([[b1[1]!, T - 10 * S]]) }, want: undefined },
    { name: 'no switch seen to its end, all switching: follow, no earliest', over: { marked: new Map(b0.map((m) => [m, T - 200 * S])), switching: switched([[b1[1]!, T - 10 * S], [b1[2]!, T - 4 * S], [b1[0]!, T - 20 * S]]) }, want: { kind: 'switching' } },
    { name: 'a batch further back not done: not the working batch', over: { upTo: 2 }, want: undefined },
    {
      name: 'a switching marker older than the quiet limit is not working, and a batch quiet that long is not scanned',
      over: { nowMs: T + SWITCH_WATCH_MAX_QUIET_MS, switching: switched([[b1[1]!, T - 10 * S], [b1[2]!, T - 4 * S]]) },
      want: undefined,
    },
    { name: 'the batch done: nothing to watch', over: { marked: new Map([...marked, [b1[1]!, T], [b1[2]!, T]]) }, want: undefined },
  ];
  it.each(rows)('$name', ({ over, want }) => {
    expect(watchSwitching(input(over))).toEqual(want);
  });
});

describe('the gate decision of the next batch by the switching markers (real directory store)', () => {
  async function decideFor(batch2Switching: boolean): Promise<Awaited<ReturnType<typeof decideWithReads>>> {
    const fs = await tempFsStore();
    try {
      const now = Date.now();
      const { utimes } = await import('node:fs/promises');
      const at = async (key: string, ms: number): Promise<void> => utimes(`${fs.url}/${key}`, new Date(ms), new Date(ms));
      const rid = plan.rolloutId;
      for (const m of b0) {
        await writeReadyMarker(fs.store, { set: 'web', rolloutId: rid, digest: NEW, machine: m, at: new Date(now - 200 * S) });
        await at(`ready/web/${rid}/${m}`, now - 200 * S);
      }
      await writeSwitchingMarker(fs.store, 'web', rid, b1[0]!);
      await at(`ready/web/${rid}/~switching/${b1[0]!}`, now - 51 * S);
      await writeReadyMarker(fs.store, { set: 'web', rolloutId: rid, digest: NEW, machine: b1[0]!, at: new Date(now - 20 * S) });
      await at(`ready/web/${rid}/${b1[0]!}`, now - 20 * S);
      await writeSwitchingMarker(fs.store, 'web', rid, b1[1]!);
      await at(`ready/web/${rid}/~switching/${b1[1]!}`, now - 10 * S);
      if (batch2Switching) {
        await writeSwitchingMarker(fs.store, 'web', rid, b1[2]!);
        await at(`ready/web/${rid}/~switching/${b1[2]!}`, now - 4 * S);
      }
      return await decideWithReads({
        store: fs.store, plan, machine: plan.batches[2]![0]!, settings: { pauseBetweenBatchesMs: 0, maxFailures: 0, windows: [] }, dependencies: [],
        overrideWindows: false, now: new Date(now), staleAfterMs: 600_000, unreachable: { budget: 0, afterMs: 900_000 }, memory: new GateMemory(), monotonicMs: 5_000_000,
      });
    } finally {
      await fs.cleanup();
    }
  }

  it('every machine left switching: held (no request) until the last can be done, then followed', async () => {
    const r = await decideFor(true);
    expect(r.decision).toMatchObject({ allowed: false, reason: Reason.WaitingForBatch });
    expect(r).toMatchObject({ held: true, switching: true });
    const wait = r.decision.allowed ? 0 : (r.decision.retryAfterMs ?? 0);
    // The last began 4 s ago and the shortest switch is 31 s: about 26 s, not a look a second.
    expect(wait).toBeGreaterThan(20 * S);
    expect(wait).toBeLessThanOrEqual(27 * S);
  });

  it('a machine left not begun: a scan look at half the shortest switch, not a look a second', async () => {
    const r = await decideFor(false);
    expect(r).toMatchObject({ scan: true });
    expect(r.decision.allowed ? 0 : r.decision.retryAfterMs).toBe(15_500);
    expect(15_500).toBeGreaterThan(PREVIOUS_BATCH_RETRY_MS);
  });
});
