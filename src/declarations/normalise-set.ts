import type { ActivationSpec, HealthSpec } from '../activation/spec.js';
import { parseClosureRef } from '../store/closure-ref.js';
import { durationOr } from '../util/duration.js';
import type { RawActivate, RawCommand, RawDefaults, RawHealth, RawRollout, RawSet, RawWindow } from './raw-types.js';
import type { Argv, BatchSize, MachineSelection, MaintenanceWindow, RolloutPolicy, SetDeclaration, UnavailableBudget, Weekday } from './types.js';

/** Built-in defaults, used when neither the set nor flotilla.yaml's defaults say otherwise. */
export const BUILTIN_DEFAULTS = {
  batchSize: { kind: 'count', count: 1 } as BatchSize,
  leaseTtlMs: 5 * 60_000,
  // 0: a machine that goes silent stops its set, as before the budget existed (docs/rollouts.md says why).
  maxUnavailable: { kind: 'count', count: 0 } as UnavailableBudget,
  // Past the 10 min staleness: a machine is Stale first, and unreachable only once it has been gone a while
  // (readers also wait two of the machine's own heartbeats: 20 min at the default 10 min heartbeat).
  unreachableAfterMs: 15 * 60_000,
  activateTimeoutMs: 5 * 60_000,
  healthIntervalMs: 5000,
  healthRetries: 3,
  healthTimeoutMs: 10_000,
  expectStatus: 200,
} as const;

const ALL_DAYS: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** A YAML command as argv: arrays run as is, a string runs through /bin/sh -c. */
export function toArgv(cmd: RawCommand | undefined): Argv | undefined {
  if (cmd === undefined) return undefined;
  if (typeof cmd === 'string') return ['/bin/sh', '-c', cmd];
  const [first, ...rest] = cmd;
  return first === undefined ? undefined : [first, ...rest];
}

/** Parses batchSize as the schema accepts it: an integer ≥ 1, "N%" or "all". */
export function toBatchSize(v: number | string | undefined): BatchSize {
  if (v === undefined) return BUILTIN_DEFAULTS.batchSize;
  if (typeof v === 'number') return { kind: 'count', count: v };
  if (v === 'all') return { kind: 'all' };
  return { kind: 'percent', percent: Number(v.slice(0, -1)) };
}

/** Parses maxUnavailable as the schema accepts it: an integer ≥ 0 or "N%". */
export function toUnavailableBudget(v: number | string | undefined): UnavailableBudget {
  if (v === undefined) return BUILTIN_DEFAULTS.maxUnavailable;
  if (typeof v === 'number') return { kind: 'count', count: v };
  return { kind: 'percent', percent: Number(v.slice(0, -1)) };
}

function toWindow(w: RawWindow): MaintenanceWindow {
  const [h, m] = w.start.split(':').map(Number);
  return {
    days: w.days ? (w.days as Weekday[]) : ALL_DAYS,
    startMinute: (h ?? 0) * 60 + (m ?? 0),
    durationMs: durationOr(w.duration, 0),
    timeZone: w.timeZone,
    deny: w.deny ?? false,
  };
}

function toRollout(d: RawRollout = {}, s: RawRollout = {}): RolloutPolicy {
  const r = { ...d, ...s };
  return {
    batchSize: toBatchSize(r.batchSize),
    canary: r.canary ?? 0,
    pauseBetweenBatchesMs: durationOr(r.pauseBetweenBatches, 0),
    maxFailures: r.maxFailures ?? 0,
    windows: (r.windows ?? []).map(toWindow),
    overrideWindows: r.overrideWindows ?? false,
    dependsOn: r.dependsOn ?? [],
    leaseTtlMs: durationOr(r.leaseTtl, BUILTIN_DEFAULTS.leaseTtlMs),
    maxUnavailable: toUnavailableBudget(r.maxUnavailable),
    unreachableAfterMs: durationOr(r.unreachableAfter, BUILTIN_DEFAULTS.unreachableAfterMs),
  };
}

// The declaration has one timeout: it bounds the drain and undrain hooks too. The key order is the one
// generations have always recorded in their origin file.
function toActivate(d: RawActivate = {}, s: RawActivate = {}): ActivationSpec | undefined {
  const env = Object.fromEntries(Object.entries({ ...d.env, ...s.env }).map(([k, v]) => [k, String(v)]));
  const a = { ...d, ...s, env };
  const command = toArgv(a.command);
  const drain = toArgv(a.drain);
  const undrain = toArgv(a.undrain);
  // Nothing to run: switching the link is the whole activation.
  if (command === undefined && drain === undefined && undrain === undefined) return undefined;
  const timeoutMs = durationOr(a.timeout, BUILTIN_DEFAULTS.activateTimeoutMs);
  const spec: ActivationSpec = { env: a.env, timeoutMs, drainGraceMs: durationOr(a.drainGrace, 0) };
  if (command) spec.command = command;
  if (drain) spec.drain = { command: drain, timeoutMs };
  if (undrain) spec.undrain = { command: undrain, timeoutMs };
  return spec;
}

function toHealth(d: RawHealth = {}, s: RawHealth = {}): HealthSpec | undefined {
  const h = { ...d, ...s };
  const command = toArgv(h.command);
  if (command === undefined && h.http === undefined) return undefined;
  const spec: HealthSpec = {
    initialDelayMs: durationOr(h.initialDelay, 0),
    intervalMs: durationOr(h.interval, BUILTIN_DEFAULTS.healthIntervalMs),
    retries: h.retries ?? BUILTIN_DEFAULTS.healthRetries,
    timeoutMs: durationOr(h.timeout, BUILTIN_DEFAULTS.healthTimeoutMs),
  };
  if (command) spec.command = command;
  if (h.http) {
    spec.http = { url: h.http.url, expectStatus: h.http.expectStatus ?? BUILTIN_DEFAULTS.expectStatus };
    if (h.http.bodyMatch !== undefined) spec.http.bodyMatch = h.http.bodyMatch;
  }
  return spec;
}

function toSelection(s: RawSet): MachineSelection {
  if (s.selector) return { kind: 'labels', matchLabels: s.selector.matchLabels };
  return { kind: 'names', names: s.machines ?? [] };
}

/**
 * Builds a set from its schema-valid raw form and the repo defaults (the set's fields win, field by field;
 * activate.env maps are merged). Pure; the rules check what the schema cannot (both machines and selector,
 * a missing platform, a health block without a check) before this result is trusted.
 */
export function normaliseSet(name: string, file: string, raw: RawSet, defaults: RawDefaults = {}): SetDeclaration {
  const set: SetDeclaration = {
    name,
    file,
    closure: parseClosureRef(raw.closure),
    platform: raw.platform ?? defaults.platform ?? '',
    selection: toSelection(raw),
    rollout: toRollout(defaults.rollout, raw.rollout),
  };
  if (raw.description !== undefined) set.description = raw.description;
  if (raw.servicePath !== undefined) set.servicePath = raw.servicePath;
  if (raw.suspended === true) set.suspended = true;
  const activate = toActivate(defaults.activate, raw.activate);
  if (activate) set.activate = activate;
  const health = toHealth(defaults.health, raw.health);
  if (health) set.health = health;
  return set;
}
