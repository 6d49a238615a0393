import type { SlotHolder } from '../rollout/lease-admin.js';
import { findCondition } from '../status/conditions.js';
import { isParseProblem } from '../status/machine-status.js';
import type { ClosureRef } from '../store/closure-ref.js';
import { decideExitCode, type MachineView, type RemovedMachineView, type SetHealth, type SetView } from './fleet-view.js';
import { timelineOf, type TimelineEvent } from './fleet-timeline.js';
import type { PauseView, SetReading } from './read-fleet.js';

/** A machine's row on the page: its view plus what its report says about when and from which commit. */
export interface MachineRow extends MachineView {
  /** The deploy-repo commit the machine last applied. */
  commit: string | null;
  /** When its leading condition (Stalled if true, else Ready) last changed. */
  since: string | null;
  agentVersion: string | null;
  /** The slot it holds in the current rollout, if any. */
  slot: number | null;
}

/** Where a batch of the current rollout stands. */
export type BatchPhase = 'done' | 'rolling' | 'failed' | 'waiting';

/** One batch of the current rollout. */
export interface BatchRow {
  index: number;
  /** "canary" for the canary batch, else "batch N". */
  label: string;
  machines: string[];
  phase: BatchPhase;
}

/** A quarantined digest with each failure that put it there. */
export interface QuarantineRow {
  digest: ClosureRef;
  failures: Array<{ machine: string; reason: string; message: string; time: string }>;
}

/** One set on the page. */
export interface SetPage {
  set: string;
  desiredDigest: ClosureRef | null;
  health: SetHealth;
  readyCount: number;
  machines: MachineRow[];
  rollout: { id: string; capacity: number; batches: BatchRow[]; slots: SlotHolder[] };
  quarantines: QuarantineRow[];
  removed: RemovedMachineView[];
  pause: PauseView | null;
}

/** Everything the fleet page shows: one document, rendered as HTML and served as JSON. */
export interface FleetPage {
  generatedAt: string;
  /** The deploy-repo commit the desired digests were read at. */
  commit: string;
  store: string;
  result: SetHealth;
  sets: SetPage[];
  /** Recent transitions, newest first (see timelineOf). */
  events: TimelineEvent[];
}

const RESULT = { 0: 'converged', 1: 'failed', 3: 'progressing' } as const;
const FAILED_STATES: ReadonlySet<string> = new Set(['Failed', 'RolledBack', 'Stale', 'Unreachable', 'Invalid']);

function phaseOf(machines: readonly MachineView[]): BatchPhase {
  if (machines.some((m) => FAILED_STATES.has(m.state))) return 'failed';
  if (machines.length > 0 && machines.every((m) => m.state === 'Ready')) return 'done';
  if (machines.some((m) => m.state === 'Progressing')) return 'rolling';
  return 'waiting';
}

function machineRow(reading: SetReading, m: MachineView): MachineRow {
  const s = reading.statuses.get(m.machine);
  const held = reading.view.slotHolders.find((h) => h.machine === m.machine);
  const slot = held === undefined ? null : held.slot;
  if (s === undefined || isParseProblem(s)) return { ...m, commit: null, since: null, agentVersion: null, slot };
  const stalled = findCondition(s.conditions, 'Stalled');
  const lead = stalled?.status === 'True' ? stalled : findCondition(s.conditions, 'Ready');
  return { ...m, commit: s.commit, since: lead?.lastTransitionTime ?? null, agentVersion: s.agentVersion, slot };
}

function setPage(reading: SetReading): SetPage {
  const { view, plan } = reading;
  const byName = new Map(view.machines.map((m) => [m.machine, m]));
  const batches = plan.batches.map((names, index) => ({
    index,
    label: index === 0 && reading.canary > 0 ? 'canary' : `batch ${index}`,
    machines: names,
    phase: phaseOf(names.flatMap((n) => byName.get(n) ?? [])),
  }));
  return {
    set: view.set,
    desiredDigest: view.desiredDigest,
    health: view.health,
    readyCount: view.readyCount,
    machines: view.machines.map((m) => machineRow(reading, m)),
    rollout: { id: plan.rolloutId, capacity: plan.capacity, batches, slots: view.slotHolders.map(({ rollout, slot, machine, token, state }) => ({ rollout, slot, machine, token, state })) },
    quarantines: reading.quarantines.map((q) => ({ digest: q.digest, failures: q.failures.map((f) => ({ ...f })) })),
    removed: view.removed,
    pause: reading.pause,
  };
}

/** Builds the page model from what readFleetReadings read (pure). `result` is what `flotilla status` would say. */
export function buildFleetPage(readings: readonly SetReading[], meta: { commit: string; store: string; now: Date }): FleetPage {
  const views: SetView[] = readings.map((r) => r.view);
  return {
    generatedAt: meta.now.toISOString(),
    commit: meta.commit,
    store: meta.store,
    result: RESULT[decideExitCode(views)],
    sets: readings.map(setPage),
    events: timelineOf(readings),
  };
}
