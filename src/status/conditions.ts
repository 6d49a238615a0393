/**
 * The fixed status vocabulary (Flux's habit): three condition types and a closed set of reasons.
 * Status files, `flotilla status` and the rollout gate speak only these words, never ad-hoc strings,
 * so scripts can match on them and a typo is a type error.
 */

/** Ready: running the desired digest and healthy. Reconciling: work in progress. Stalled: a human must act. */
export type ConditionType = 'Ready' | 'Reconciling' | 'Stalled';

export const CONDITION_TYPES: readonly ConditionType[] = ['Ready', 'Reconciling', 'Stalled'];

/** Kubernetes-style tri-state. */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export const CONDITION_STATUSES: readonly ConditionStatus[] = ['True', 'False', 'Unknown'];

/** Every reason a condition (or a gate decision) may carry. Add here, never inline a string elsewhere. */
export const Reason = {
  /** The desired digest is active and healthy. */
  Succeeded: 'Succeeded',
  /** Fetching, staging, switching, activating or health-checking. */
  Progressing: 'Progressing',
  /** An earlier batch is not yet Ready on the target digest. */
  WaitingForBatch: 'WaitingForBatch',
  /** The pause after the previous batch has not elapsed. */
  WaitingForPause: 'WaitingForPause',
  /** No maintenance window is open now. */
  WaitingForWindow: 'WaitingForWindow',
  /** A set this one depends on is not Ready on its own desired digest. */
  WaitingForDependency: 'WaitingForDependency',
  /** Every slot of the batch is held by another machine. */
  WaitingForSlot: 'WaitingForSlot',
  /** The set is declared `suspended: true` in the deploy repo: nothing switches until a commit lifts it. */
  Suspended: 'Suspended',
  /** An operator paused the set in the store (`flotilla pause`): nothing switches until `flotilla resume`. */
  Paused: 'Paused',
  /** The health check failed; the previous generation was re-activated. */
  HealthCheckFailed: 'HealthCheckFailed',
  /** The activation command failed. */
  ActivationFailed: 'ActivationFailed',
  /** The machine went back to its previous generation. */
  RolledBack: 'RolledBack',
  /** The target digest is quarantined for this set: the fleet stops on it. */
  Quarantined: 'Quarantined',
  /** A signature, integrity or policy check failed. */
  VerificationFailed: 'VerificationFailed',
  /** The closure could not be fetched from any store. */
  FetchFailed: 'FetchFailed',
  /** The deploy repo's declarations are invalid. */
  InvalidDeclarations: 'InvalidDeclarations',
  /** The deploy repo's signed expiry has passed. */
  RepoStale: 'RepoStale',
  /** The new HEAD does not descend from the last applied commit. */
  RollbackRefused: 'RollbackRefused',
  /** HEAD is not signed by a trusted key. */
  UntrustedCommit: 'UntrustedCommit',
  /** Our lease was taken over or cleared while we held it. */
  LeaseLost: 'LeaseLost',
  /** The store does not honour conditional writes: the agent refuses to coordinate through it. */
  CoordinationUnsafe: 'CoordinationUnsafe',
  /** The deploy repo could not be reached or read (network, server, missing repo or object). */
  RepoUnreachable: 'RepoUnreachable',
  /** The store refused the configured credentials. */
  StoreAccessDenied: 'StoreAccessDenied',
  /** The store cannot do what was asked (a write to a read-only HTTP store). */
  StoreUnsupported: 'StoreUnsupported',
  /** A conditional write to the store lost to another writer; the next tick reads again. */
  WriteConflict: 'WriteConflict',
  /** The agent's configuration (store URL, bucket, a command's arguments) is invalid. */
  InvalidConfig: 'InvalidConfig',
  /** A key file (commit trust, publisher) is missing, empty or malformed. */
  InvalidKey: 'InvalidKey',
  /** A local file or directory is missing or cannot be read. */
  PathUnusable: 'PathUnusable',
  /** A state file is corrupt or the state dir cannot be written: a human must look. */
  StateUnusable: 'StateUnusable',
  /** Another local actor (a CLI verb, another agent) holds the set's lock. */
  Locked: 'Locked',
  /** Staging or switching a generation failed (a missing package, a broken generation). */
  GenerationFailed: 'GenerationFailed',
  /** The state dir's disk has too little free space for the fetch or the switch: free space or run gc. */
  DiskFull: 'DiskFull',
  /** Something unexpected (a bug); see the message. */
  InternalError: 'InternalError',
} as const;

/** One of the reason constants above. */
export type ReasonName = (typeof Reason)[keyof typeof Reason];

export const REASONS: readonly ReasonName[] = Object.values(Reason);

/** True when `value` is one of the reason constants. */
export function isReason(value: unknown): value is ReasonName {
  return typeof value === 'string' && (REASONS as readonly string[]).includes(value);
}

/** One condition as written in a status file. `lastTransitionTime` is an ISO 8601 instant (the writer's clock). */
export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  reason: ReasonName;
  message: string;
  lastTransitionTime: string;
}

/**
 * Returns `conditions` with `next` set: replaces the condition of the same type, keeping the old
 * `lastTransitionTime` when status did not change (Flux's meta.SetStatusCondition semantics). Pure.
 */
export function setCondition(conditions: readonly Condition[], next: Condition): Condition[] {
  const old = conditions.find((c) => c.type === next.type);
  const merged = old && old.status === next.status ? { ...next, lastTransitionTime: old.lastTransitionTime } : next;
  return [...conditions.filter((c) => c.type !== next.type), merged].sort(
    (a, b) => CONDITION_TYPES.indexOf(a.type) - CONDITION_TYPES.indexOf(b.type),
  );
}

/** The condition of `type`, if present. */
export function findCondition(conditions: readonly Condition[], type: ConditionType): Condition | undefined {
  return conditions.find((c) => c.type === type);
}
