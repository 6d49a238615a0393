// Reads a fleet rollout back from the agents' own pino logs: when each machine switched and committed,
// how long its activation and health check took, and how many store requests its ticks made.
import type { LogLine } from './procs.js';

/** One machine's part of a rollout to one digest (wall-clock ms, as pino's `time`). */
export interface MachineRollout {
  machine: string;
  switchStart: number;
  commitEnd: number;
  /** activate + health step durations (the work the batch must wait for). */
  proofMs: number;
  /** Sum of storeRequests of its `tick finished` lines from the commit to its converging tick. */
  storeRequests: number;
  ticks: number;
}

/** Extracts one machine's rollout to `digest` from its log lines; undefined when it never committed. */
export function machineRollout(machine: string, lines: LogLine[], digest: string, since: number): MachineRollout | undefined {
  const mine = lines.filter((l) => l.digest === digest && l.time >= since);
  const sw = mine.find((l) => l.step === 'switch' && l.msg === 'step switch done');
  const commit = mine.find((l) => l.step === 'commit' && l.msg === 'step commit done');
  if (!sw || !commit) return undefined;
  const ms = (step: string): number => mine.find((l) => l.step === step)?.ms ?? 0;
  let storeRequests = 0;
  let ticks = 0;
  for (const l of lines) {
    if (l.msg !== 'tick finished' || l.time < since) continue;
    storeRequests += l.storeRequests ?? 0;
    ticks++;
    if (l.time >= commit.time) break;
  }
  return { machine, switchStart: sw.time - (sw.ms ?? 0), commitEnd: commit.time, proofMs: ms('activate') + ms('health'), storeRequests, ticks };
}

/** One batch's figures: gap after the previous batch, its duration, and the part of it that is not activation/health. */
export interface BatchFigures {
  index: number;
  size: number;
  /** First switch start of this batch − last commit end of the previous one (0 for the first batch: from the commit push). */
  gapMs: number;
  durationMs: number;
  proofMs: number;
  /** gap + (duration − proof). */
  overheadMs: number;
}

/** Per-batch figures for `batches` (machine names in plan order); throws if a machine has no rollout. */
export function batchFigures(batches: string[][], rollouts: Map<string, MachineRollout>, commitPushedAt: number): BatchFigures[] {
  const out: BatchFigures[] = [];
  let prevEnd = commitPushedAt;
  batches.forEach((batch, index) => {
    const rs = batch.map((m) => {
      const r = rollouts.get(m);
      if (r === undefined) throw new Error(`machine ${m} never committed the new digest`);
      return r;
    });
    const start = Math.min(...rs.map((r) => r.switchStart));
    const end = Math.max(...rs.map((r) => r.commitEnd));
    const proofMs = Math.max(...rs.map((r) => r.proofMs));
    const gapMs = start - prevEnd;
    const durationMs = end - start;
    out.push({ index, size: batch.length, gapMs, durationMs, proofMs, overheadMs: gapMs + durationMs - proofMs });
    prevEnd = end;
  });
  return out;
}
