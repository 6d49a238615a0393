import type { Digest } from '../store/digest.js';

// Normalised declarations: what the rest of Flotilla consumes. Every duration is in milliseconds, every
// command is an argv array, every default is applied. Produced only by loadDeclarations / loadAgentConfig.

/** A day of the week as written in windows. */
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

/** How many machines switch at once after the canaries. `all`: no batching and no leases. */
export type BatchSize = { kind: 'count'; count: number } | { kind: 'percent'; percent: number } | { kind: 'all' };

/** A maintenance window, read in its own IANA time zone. */
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
}

/**
 * A command as argv. A string in YAML becomes ['/bin/sh', '-c', string]; an array is kept as is
 * (run without a shell).
 */
export type Argv = [string, ...string[]];

/** How a generation is started. At least one of command, drain, undrain is present. */
export interface ActivateSpec {
  /** Absent: switching the link (between drain and undrain) is the whole activation. */
  command?: Argv;
  env: Record<string, string>;
  timeoutMs: number;
  drain?: Argv;
  undrain?: Argv;
  drainGraceMs: number;
}

/** An HTTP(S) GET health check. */
export interface HttpCheck {
  url: string;
  expectStatus: number;
  /** A regular expression source (already checked to compile). */
  bodyMatch?: string;
}

/** How a generation is judged healthy; at least one of command/http is present. */
export interface HealthSpec {
  command?: Argv;
  http?: HttpCheck;
  initialDelayMs: number;
  intervalMs: number;
  retries: number;
  timeoutMs: number;
}

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
  closure: Digest;
  /** OS/ARCH, e.g. linux/amd64. */
  platform: string;
  selection: MachineSelection;
  servicePath?: string;
  rollout: RolloutPolicy;
  /** Absent when neither the set nor the defaults declare an activation. */
  activate?: ActivateSpec;
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

/** flotilla.yaml, normalised. */
export interface RepoConfig {
  /** Store URLs in mirror order. */
  stores: string[];
  publishers: PublisherPolicy;
  /** Past this instant the repo is stale. */
  expires?: Date;
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
    /** Six-field cron (seconds first), only when the config asks for wall-clock slots. */
    pollSchedule?: string;
    /** Poll period when there is no cron schedule; each machine polls at its own moment of it. */
    pollIntervalMs: number;
    timeZone: string;
    jitterMs: number;
    auth: { usernameEnv?: string; passwordEnv?: string; bearerTokenEnv?: string };
    timeoutMs: number;
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
  watchPath?: string;
  /** Absent: no webhook. */
  webhook?: { listen: ListenAddress; secretFile: string };
  metrics: { enabled: boolean; listen: ListenAddress };
  /** Daemon mode: how long the tick worker process outlives a tick that is not waiting (ms). */
  keepWarmMs: number;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
}
