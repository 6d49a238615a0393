import type { SlotHolder } from '../rollout/lease-admin.js';
import { findCondition, type ReasonName } from '../status/conditions.js';
import { isParseProblem, type MachineState, type MachineStatus, type ParseProblem } from '../status/machine-status.js';
import { isFresh } from '../status/readiness.js';
import { isSilent } from '../rollout/unavailability.js';
import type { ClosureRef } from '../store/closure-ref.js';

/** A machine's state as the fleet view shows it: the reported state, or what the reader concludes. */
export type FleetMachineState = MachineState | 'Stale' | 'Unreachable' | 'Unknown' | 'Invalid';

/** One quarantined digest of a set. */
export interface QuarantineSummary {
  digest: ClosureRef;
  machines: string[];
}

/** Everything needed to summarise one set. */
export interface SetViewInput {
  set: string;
  /** What the deploy repo asks for (null when the repo was not read). */
  desiredDigest: ClosureRef | null;
  /** Members of the set, in batch order when a plan exists. */
  machines: readonly string[];
  /** Batch index per machine (from the plan), when known. */
  batchOf?: (machine: string) => number;
  statuses: ReadonlyMap<string, MachineStatus | ParseProblem>;
  leases: readonly SlotHolder[];
  quarantines: readonly QuarantineSummary[];
  now: Date;
  staleAfterMs: number;
  /** The set's rollout.unreachableAfter: past it, a silent machine holding no slot is Unreachable. */
  unreachableAfterMs?: number;
  /** Machines that report for the set but left it (removedFromSet): shown apart, never judged. */
  removed?: readonly string[];
  /** The operator's pause marker of the set (pauses/SET.json), when there is one. */
  pause?: PauseSummary | null;
  /** `suspended: true` in the set's file at the revision read. */
  suspended?: boolean;
}

/** Who paused a set in the store, when and why (from pauses/SET.json). */
export interface PauseSummary {
  by: string;
  at: string;
  reason: string;
}

/** One machine's row. */
export interface MachineView {
  machine: string;
  state: FleetMachineState;
  reason: ReasonName | null;
  message: string;
  currentDigest: ClosureRef | null;
  generation: number | null;
  reportedAt: string | null;
  batch: number | null;
  onDesired: boolean;
}

/** A machine that left the set, with its last report: shown so it is not forgotten, never counted. */
export interface RemovedMachineView {
  machine: string;
  /** reportedAt of its last report (null when unreadable). */
  lastSeen: string | null;
  currentDigest: ClosureRef | null;
  state: MachineState | 'Invalid';
}

/** The summary of a set: converged (all Ready on desired), failed, or progressing. */
export type SetHealth = 'converged' | 'progressing' | 'failed';

export interface SetView {
  set: string;
  desiredDigest: ClosureRef | null;
  health: SetHealth;
  machines: MachineView[];
  /** Machines that are Ready on the desired digest / members. */
  readyCount: number;
  slotHolders: SlotHolder[];
  quarantines: QuarantineSummary[];
  /** Machines not in the set at this revision whose reports remain; they do not count toward the health. */
  removed: RemovedMachineView[];
  /** Paused in the store (flotilla pause): nothing switches until flotilla resume. */
  pause: PauseSummary | null;
  /** Suspended in the deploy repo (`suspended: true`): nothing switches until a commit lifts it. */
  suspended: boolean;
}

function viewMachine(input: SetViewInput, machine: string): MachineView {
  const s = input.statuses.get(machine);
  const batch = input.batchOf ? input.batchOf(machine) : null;
  const base = { machine, batch: batch !== null && batch >= 0 ? batch : null };
  if (s === undefined) {
    return { ...base, state: 'Unknown', reason: null, message: 'has not reported', currentDigest: null, generation: null, reportedAt: null, onDesired: false };
  }
  if (isParseProblem(s)) {
    return { ...base, state: 'Invalid', reason: null, message: s.problem, currentDigest: null, generation: null, reportedAt: null, onDesired: false };
  }
  const onDesired = input.desiredDigest !== null && s.currentDigest === input.desiredDigest;
  const stalled = findCondition(s.conditions, 'Stalled');
  const lead = stalled?.status === 'True' ? stalled : findCondition(s.conditions, 'Ready');
  const common = { ...base, currentDigest: s.currentDigest, generation: s.generation, reportedAt: s.reportedAt, onDesired, reason: lead?.reason ?? null, message: lead?.message ?? '' };
  const fresh = isFresh(s, input.now, input.staleAfterMs);
  const holdsSlot = input.leases.some((l) => l.state === 'held' && l.machine === machine);
  const silent = input.unreachableAfterMs !== undefined && input.desiredDigest !== null && isSilent(s, input.desiredDigest, input.now, input.unreachableAfterMs);
  // A fresh Ready on the desired digest is done for the gate too, however old it is next to unreachableAfter.
  if (silent && !holdsSlot && !(fresh && onDesired && s.state === 'Ready')) {
    return { ...common, state: 'Unreachable', message: `no report since ${s.reportedAt} and no slot held: counts against maxUnavailable` };
  }
  if (!fresh) {
    return { ...common, state: 'Stale', message: `no fresh report (last ${s.reportedAt}; clock skew or a dead agent)` };
  }
  // "Ready" on another digest is not Ready for this view: the machine has not caught up yet.
  if (s.state === 'Ready' && !onDesired) return { ...common, state: 'Progressing', message: `runs ${s.currentDigest ?? 'nothing'}, desired ${input.desiredDigest ?? '?'}` };
  return { ...common, state: s.state };
}

function viewRemoved(input: SetViewInput, machine: string): RemovedMachineView {
  const s = input.statuses.get(machine);
  if (s === undefined || isParseProblem(s)) return { machine, lastSeen: null, currentDigest: null, state: 'Invalid' };
  return { machine, lastSeen: s.reportedAt, currentDigest: s.currentDigest, state: s.state };
}

/**
 * Summarises one set (pure). Health: failed when a machine is Failed, RolledBack, Stale, Unreachable or Invalid, or the
 * desired digest is quarantined; converged when every member is Ready on the desired digest (and there is
 * at least one member); progressing otherwise (Progressing, Waiting, Unknown = never reported). Removed
 * machines are listed apart and never change the health.
 */
export function viewSet(input: SetViewInput): SetView {
  const machines = input.machines.map((m) => viewMachine(input, m));
  const readyCount = machines.filter((m) => m.state === 'Ready').length;
  const quarantined = input.quarantines.some((q) => q.digest === input.desiredDigest);
  const failed = quarantined || machines.some((m) => m.state === 'Failed' || m.state === 'RolledBack' || m.state === 'Stale' || m.state === 'Unreachable' || m.state === 'Invalid');
  const health: SetHealth = failed ? 'failed' : machines.length > 0 && readyCount === machines.length ? 'converged' : 'progressing';
  return {
    set: input.set,
    desiredDigest: input.desiredDigest,
    health,
    machines,
    readyCount,
    slotHolders: input.leases.filter((l) => l.state === 'held'),
    quarantines: [...input.quarantines],
    removed: (input.removed ?? []).map((m) => viewRemoved(input, m)),
    pause: input.pause ?? null,
    suspended: input.suspended ?? false,
  };
}

/** The exit code of `flotilla status`: 1 if any set failed, else 3 if any is progressing, else 0. */
export function decideExitCode(views: readonly SetView[]): 0 | 1 | 3 {
  if (views.some((v) => v.health === 'failed')) return 1;
  if (views.some((v) => v.health === 'progressing')) return 3;
  return 0;
}
