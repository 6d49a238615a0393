// Shapes of the files as their schemas accept them (before normalisation). Only code that runs after
// checkSchema may cast parsed YAML to these.

/** A command as written: argv array or shell string. */
export type RawCommand = string | string[];

/** One window as written in rollout.windows. */
export interface RawWindow {
  days?: string[];
  start: string;
  duration: string;
  timeZone: string;
  deny?: boolean;
}

/** rollout: as written (set or defaults). */
export interface RawRollout {
  batchSize?: number | string;
  canary?: number;
  pauseBetweenBatches?: string;
  maxFailures?: number;
  windows?: RawWindow[];
  overrideWindows?: boolean;
  dependsOn?: string[];
  leaseTtl?: string;
  maxUnavailable?: number | string;
  unreachableAfter?: string;
}

/** activate: as written (set or defaults). */
export interface RawActivate {
  command?: RawCommand;
  env?: Record<string, string | number | boolean>;
  timeout?: string;
  drain?: RawCommand;
  undrain?: RawCommand;
  drainGrace?: string;
}

/** health: as written (set or defaults). */
export interface RawHealth {
  command?: RawCommand;
  http?: { url: string; expectStatus?: number; bodyMatch?: string };
  initialDelay?: string;
  interval?: string;
  retries?: number;
  timeout?: string;
}

/** sets/NAME.yaml as written. */
export interface RawSet {
  name?: string;
  description?: string;
  closure: string;
  platform?: string;
  machines?: string[];
  selector?: { matchLabels: Record<string, string> };
  servicePath?: string;
  suspended?: boolean;
  rollout?: RawRollout;
  activate?: RawActivate;
  health?: RawHealth;
}

/** flotilla.yaml defaults: as written. */
export interface RawDefaults {
  platform?: string;
  rollout?: RawRollout;
  activate?: RawActivate;
  health?: RawHealth;
}

/** flotilla.yaml as written. */
export interface RawRepoConfig {
  version?: 1;
  stores: string[];
  publishers: { keys: string[]; threshold?: number; requireDeployable?: boolean; promoterKeys?: string[] };
  defaults?: RawDefaults;
  headPointer?: { enabled: boolean; store?: string };
  nix?: { trustedKeys: string[]; threshold?: number };
  notifications?: { receivers: RawReceiver[] };
  expires?: string;
}

/** flotilla.yaml notifications.receivers[i] as written (the schema requires url+secret or command by type). */
export interface RawReceiver {
  name: string;
  type: 'webhook' | 'command';
  events?: string[];
  sets?: string[];
  timeout?: string;
  url?: string;
  secret?: string;
  command?: string[];
}

/** machines/NAME.yaml as written. */
export interface RawMachine {
  description?: string;
  labels?: Record<string, string>;
  platform?: string;
}
