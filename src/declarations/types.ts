import type { ActivationSpec, HealthSpec } from '../activation/spec.js';
import type { ClosureRef } from '../store/closure-ref.js';

// Normalised declarations: the one model the rest of Flotilla consumes (planner, windows, gate, plan, status,
// the agent). Every duration is in milliseconds, every command is an argv array, every default is applied.
// Produced only by loadDeclarations / loadAgentConfig; nothing converts them again into another shape.

/** A day of the week as written in windows. */
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

/** How many machines switch at once after the canaries. `all`: no batching and no leases. */
export type BatchSize = { kind: 'count'; count: number } | { kind: 'percent'; percent: number } | { kind: 'all' };

/**
 * A maintenance window, read in its own IANA time zone: a weekly recurrence opening at `startMinute` local
 * wall time on each of `days` and open for `durationMs` of real elapsed time (whole minutes, 1m to 7d: the
 * rules refuse anything else). src/rollout/windows.ts evaluates it as is.
 */
export interface MaintenanceWindow {
  /** Days it opens on (local); all seven when the file gave none. */
  days: Weekday[];
  /** Local start as minutes after midnight (0..1439). */
  startMinute: number;
  durationMs: number;
  timeZone: string;
  /** A blackout: deny beats allow. */
  deny: boolean;
}

/**
 * How many machines of earlier batches may be unreachable while later batches go on: a count, or a percent
 * of the set (rounded down, so a budget never grows past what was written).
 */
export type UnavailableBudget = { kind: 'count'; count: number } | { kind: 'percent'; percent: number };

/** Rollout settings of one set, defaults applied. */
export interface RolloutPolicy {
  batchSize: BatchSize;
  canary: number;
  pauseBetweenBatchesMs: number;
  maxFailures: number;
  windows: MaintenanceWindow[];
  /** Emergency override: windows are ignored. */
  overrideWindows: boolean;
  /** Names of sets that must be Ready first. */
  dependsOn: string[];
  leaseTtlMs: number;
  /** Unreachable machines of earlier batches tolerated (src/rollout/unavailability.ts); count 0 by default. */
  maxUnavailable: UnavailableBudget;
  /** A report older than this, from a machine holding no slot, makes the machine unreachable. */
  unreachableAfterMs: number;
}

/**
 * A command as argv. A string in YAML becomes ['/bin/sh', '-c', string]; an array is kept as is
 * (run without a shell).
 */
export type Argv = [string, ...string[]];

/** Which machines a set applies to. */
export type MachineSelection =
  | { kind: 'names'; names: string[] }
  | { kind: 'labels'; matchLabels: Record<string, string> };

/** One deployment set (sets/NAME.yaml), defaults from flotilla.yaml applied. */
export interface SetDeclaration {
  name: string;
  /** Repo path it came from, e.g. sets/web.yaml. */
  file: string;
  description?: string;
  /** A Flotilla closure digest or a Nix store path (src/store/closure-ref.ts says which). */
  closure: ClosureRef;
  /** OS/ARCH, e.g. linux/amd64. */
  platform: string;
  selection: MachineSelection;
  servicePath?: string;
  /** `suspended: true` in the set's file: machines keep what they run and switch to nothing. Absent when false. */
  suspended?: true;
  rollout: RolloutPolicy;
  /** Absent when neither the set nor the defaults declare an activation. Stored as is in a generation's origin. */
  activate?: ActivationSpec;
  /** Absent when neither the set nor the defaults declare a health check: activation success is enough. */
  health?: HealthSpec;
}

/** Who may publish closures. */
export interface PublisherPolicy {
  /** `name:base64` ed25519 public keys. */
  keys: string[];
  threshold: number;
  requireDeployable: boolean;
  promoterKeys: string[];
}

/** Whether agents poll a head pointer in a store, and which store holds it. */
export interface HeadPointerPolicy {
  enabled: boolean;
  /** Absent: the coordination store of the reader (agent) or the first coordinating store (writer). */
  store?: string;
}

/** Who may sign Nix store paths (narinfo `Sig:` lines), like `trusted-public-keys` in nix.conf. */
export interface NixTrustPolicy {
  /** `name:base64` ed25519 public keys. */
  trustedKeys: string[];
  /** Distinct trusted keys that must have signed every path; 1 by default. */
  threshold: number;
}

/** The event kinds a receiver can get (flotilla.yaml notifications; docs/operations.md#notifications). */
export const EVENT_KINDS = ['rollout-started', 'batch-ready', 'machine-rolled-back', 'digest-quarantined', 'rollout-converged', 'agent-stalled'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** How a receiver is reached: a signed JSON webhook (the secret named, its bytes in the agent config) or a command. */
export type ReceiverTarget = { type: 'webhook'; url: string; secret: string } | { type: 'command'; command: string[] };

/** One receiver of notifications, normalised: every kind and every set unless filtered, 10 s per attempt by default. */
export type Receiver = ReceiverTarget & {
  name: string;
  events: EventKind[];
  /** Absent: every set. */
  sets?: string[];
  timeoutMs: number;
};

/** flotilla.yaml, normalised. */
export interface RepoConfig {
  /** Store URLs in mirror order: Flotilla stores and Nix binary caches (`nix+...`), mixed. */
  stores: string[];
  publishers: PublisherPolicy;
  /** The head pointer (heads/BRANCH.json): off unless flotilla.yaml turns it on. */
  headPointer: HeadPointerPolicy;
  /** Absent when flotilla.yaml trusts no Nix key (then no set may pin a Nix store path). */
  nix?: NixTrustPolicy;
  /** Notification receivers; empty when flotilla.yaml declares none. */
  receivers: Receiver[];
  /** Past this instant the repo is stale. */
  expires?: Date;
}

/**
 * Who a machine is: its name, its labels (from its own config) and its platform (OS/ARCH). Set selection
 * looks at name and labels only; the agent compares the platform with each set's.
 */
export interface MachineIdentity {
  name: string;
  labels: Record<string, string>;
  platform: string;
}

/** machines/NAME.yaml. */
export interface MachineDeclaration {
  name: string;
  file: string;
  description?: string;
  labels: Record<string, string>;
  platform?: string;
}

/** Everything the deploy repo declares, checked by schema and rules. */
export interface Declarations {
  config: RepoConfig;
  /** By set name, in name order. */
  sets: Map<string, SetDeclaration>;
  /** By machine name, in name order. */
  machines: Map<string, MachineDeclaration>;
  /** The repo's allowed_signers text, when present (not parsed here: src/trust owns the format). */
  allowedSigners?: string;
}

/** HOST:PORT split. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Store credentials by reference: names of environment variables, never the secrets. */
export interface StoreCredentialRef {
  /** A store URL prefix. */
  match: string;
  accessKeyIdEnv?: string;
  secretAccessKeyEnv?: string;
  sessionTokenEnv?: string;
  bearerTokenEnv?: string;
  usernameEnv?: string;
  passwordEnv?: string;
}

/** The agent's own config, normalised. */
export interface AgentConfig {
  /** The file it was read from (for messages). */
  file: string;
  machine: string;
  labels: Record<string, string>;
  platform: string;
  stateDir: string;
  repo: {
    url: string;
    branch: string;
    /** Also follow `testing/<machine>` ahead of `branch` (src/reconcile/testing-branch.ts). */
    testingBranch?: true;
    /** Six-field cron (seconds first), only when the config asks for wall-clock slots. */
    pollSchedule?: string;
    /** Poll period when there is no cron schedule; each machine polls at its own moment of it. */
    pollIntervalMs: number;
    timeZone: string;
    jitterMs: number;
    auth: { usernameEnv?: string; passwordEnv?: string; bearerTokenEnv?: string };
    timeoutMs: number;
    /** With a head pointer: the longest an unchanged pointer is trusted before git is asked directly. */
    safetyCheckMs: number;
    maxFetchBytes: number;
  };
  trust: {
    allowedSignersFile?: string;
    pgpKeysFiles: string[];
    verify: 'head' | 'all';
    minimumCommit?: string;
    insecureSkipVerify: boolean;
    /** A forge's web-merge key (SSH, allowed_signers format): trusted only on merge commits. */
    mergeAllowedSignersFile?: string;
    /** A forge's web-merge key (OpenPGP): trusted only on merge commits. */
    mergePgpKeysFiles?: string[];
  };
  /** Overrides the repo's store list when present. */
  stores?: string[];
  coordinationStore?: string;
  storeCredentials: StoreCredentialRef[];
  /** Where the HMAC secrets named by flotilla.yaml's webhook receivers come from (exactly one of file, env). */
  notificationSecrets: Record<string, { file: string } | { env: string }>;
  watchPath?: string;
  /** Absent: no webhook. */
  webhook?: { listen: ListenAddress; secretFile: string };
  metrics: { enabled: boolean; listen: ListenAddress };
  /** Nix closures: unpacked into `<root>/nix/store`; `auto` registers them with the host's Nix when it has one. */
  nix: { root: string; register: 'auto' | 'never' };
  /** Daemon mode: how long the tick worker process outlives a tick that is not waiting (ms). */
  keepWarmMs: number;
  /** How often an unchanged status report is written again (and the longest a settled daemon goes without a tick). */
  statusHeartbeatMs: number;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
}
