import { MAX_STATUS_HEARTBEAT_MS } from '../declarations/agent-config-defaults.js';
import { isClosureRef, type ClosureRef } from '../store/closure-ref.js';
import { CONDITION_STATUSES, CONDITION_TYPES, isReason, type Condition } from './conditions.js';

/** The schema tag of status files this code writes and accepts. A new shape gets a new tag. */
export const MACHINE_STATUS_SCHEMA = 'flotilla.machine-status/v1';

/** The summary state of one machine, as reported by its agent. */
export type MachineState = 'Ready' | 'Progressing' | 'Waiting' | 'Failed' | 'RolledBack';

export const MACHINE_STATES: readonly MachineState[] = ['Ready', 'Progressing', 'Waiting', 'Failed', 'RolledBack'];

/** Which rollout the report belongs to, so a report cannot be replayed into another rollout or set. */
export interface RolloutRef {
  /** `rolloutIdFor(set, target)`. */
  id: string;
  /** The machine's batch index in that rollout's plan (0 = canary). */
  batch: number;
  /** The fencing token of the lease under which the machine switched, when it switched under one. */
  token?: number;
}

/**
 * What one machine writes to `status/SET/MACHINE.json` once per tick. Times are ISO 8601 instants on the
 * writer's wall clock (readers allow for skew, see fleet-view.ts). `desiredDigest` is what the deploy repo
 * asks for as this machine saw it; `currentDigest` is what its `current` generation runs.
 * Contract for writers: the Ready condition's `lastTransitionTime` is when the machine became Ready *on
 * currentDigest* (the gate measures pauses between batches from it), so a switch from Ready-on-old to
 * Ready-on-new within one tick is a transition even though the status stays True.
 */
export interface MachineStatus {
  schema: typeof MACHINE_STATUS_SCHEMA;
  machine: string;
  set: string;
  desiredDigest: ClosureRef | null;
  currentDigest: ClosureRef | null;
  /** Local generation number of `current`, or null before the first switch. */
  generation: number | null;
  /** The deploy-repo commit the machine last applied (40 or 64 hex), or null. */
  commit: string | null;
  state: MachineState;
  conditions: Condition[];
  rollout: RolloutRef | null;
  reportedAt: string;
  agentVersion: string;
  /**
   * The public key (`NAME:base64` ed25519) this machine signs its deployment log with (history/SET/MACHINE/).
   * Absent in reports of agents older than the log; `flotilla history` cannot verify such a machine's records.
   */
  historyKey?: string;
  /**
   * The last deployment-log record this machine appended for this set: its seq and the sha256 (hex) of its
   * bytes, so a log cut off after some record is seen. Absent before the first record and in older reports.
   */
  historyHead?: { seq: number; sha256: string };
  /**
   * The writer's status heartbeat in whole seconds: it rewrites an unchanged report at least this often, so
   * readers call it stale only after a multiple of it (readiness.ts). Absent in older reports: readers then
   * keep their fixed threshold.
   */
  heartbeatSeconds?: number;
}

/** A status file that could not be read as a MachineStatus: kept as data so one bad file does not hide the rest. */
export interface ParseProblem {
  problem: string;
  key: string;
}

/** True when `v` is a ParseProblem rather than a status. */
export function isParseProblem(v: MachineStatus | ParseProblem): v is ParseProblem {
  return 'problem' in v;
}

const TOP_KEYS = [
  'schema', 'machine', 'set', 'desiredDigest', 'currentDigest', 'generation', 'commit', 'state', 'conditions',
  'rollout', 'reportedAt', 'agentVersion',
] as const;
// Optional fields: a report without them is still read (older agents), a report with them is written with them.
const OPTIONAL_KEYS = ['historyKey', 'historyHead', 'heartbeatSeconds'] as const;
const HISTORY_KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}:[A-Za-z0-9+/]{43}=$/;
const CONDITION_KEYS = ['type', 'status', 'reason', 'message', 'lastTransitionTime'];
const ROLLOUT_KEYS = ['id', 'batch', 'token'];
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const COMMIT_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
// Strict ISO 8601 UTC instant, as Date.prototype.toISOString writes it.
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

class StatusShapeError extends Error {}

function fail(path: string, expected: string): never {
  throw new StatusShapeError(`${path}: expected ${expected}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail(`${path}/${k}`, `no such field (allowed: ${allowed.join(', ')})`);
}

function isoTime(v: unknown, path: string): string {
  if (typeof v !== 'string' || !ISO_RE.test(v) || Number.isNaN(Date.parse(v))) fail(path, 'an ISO 8601 UTC time like 2026-01-02T03:04:05.000Z');
  return v;
}

function nullableDigest(v: unknown, path: string): ClosureRef | null {
  if (v === null) return null;
  if (!isClosureRef(v)) fail(path, 'null, "sha256:" + 64 lowercase hex, or a Nix store path');
  return v;
}

function name(v: unknown, path: string): string {
  if (typeof v !== 'string' || !NAME_RE.test(v) || v.includes('..')) fail(path, 'a name of 1-128 characters A-Z a-z 0-9 . _ -');
  return v;
}

function parseCondition(v: unknown, path: string): Condition {
  if (!isRecord(v)) fail(path, 'an object');
  checkKeys(v, CONDITION_KEYS, path);
  if (!(CONDITION_TYPES as readonly unknown[]).includes(v['type'])) fail(`${path}/type`, `one of ${CONDITION_TYPES.join(', ')}`);
  if (!(CONDITION_STATUSES as readonly unknown[]).includes(v['status'])) fail(`${path}/status`, `one of ${CONDITION_STATUSES.join(', ')}`);
  if (!isReason(v['reason'])) fail(`${path}/reason`, 'a known reason constant');
  if (typeof v['message'] !== 'string' || v['message'].length > 4096) fail(`${path}/message`, 'a string of at most 4096 characters');
  return {
    type: v['type'] as Condition['type'],
    status: v['status'] as Condition['status'],
    reason: v['reason'],
    message: v['message'],
    lastTransitionTime: isoTime(v['lastTransitionTime'], `${path}/lastTransitionTime`),
  };
}

function parseRollout(v: unknown, path: string): RolloutRef | null {
  if (v === null) return null;
  if (!isRecord(v)) fail(path, 'null or an object');
  checkKeys(v, ROLLOUT_KEYS, path);
  const id = name(v['id'], `${path}/id`);
  const batch = v['batch'];
  if (typeof batch !== 'number' || !Number.isSafeInteger(batch) || batch < 0) fail(`${path}/batch`, 'a non-negative integer');
  const ref: RolloutRef = { id, batch };
  if (v['token'] !== undefined) {
    const token = v['token'];
    if (typeof token !== 'number' || !Number.isSafeInteger(token) || token < 1) fail(`${path}/token`, 'a positive integer');
    ref.token = token;
  }
  return ref;
}

function parseObject(v: unknown): MachineStatus {
  if (!isRecord(v)) fail('', 'a JSON object');
  if (v['schema'] !== MACHINE_STATUS_SCHEMA) fail('/schema', `"${MACHINE_STATUS_SCHEMA}"`);
  checkKeys(v, [...TOP_KEYS, ...OPTIONAL_KEYS], '');
  for (const k of TOP_KEYS) if (!(k in v)) fail(`/${k}`, 'this field to be present');
  const generation = v['generation'];
  if (generation !== null && (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 0)) fail('/generation', 'null or a non-negative integer');
  const commit = v['commit'];
  if (commit !== null && (typeof commit !== 'string' || !COMMIT_RE.test(commit))) fail('/commit', 'null or 40/64 lowercase hex');
  if (!(MACHINE_STATES as readonly unknown[]).includes(v['state'])) fail('/state', `one of ${MACHINE_STATES.join(', ')}`);
  const conditions = v['conditions'];
  if (!Array.isArray(conditions) || conditions.length > 16) fail('/conditions', 'an array of at most 16 conditions');
  const parsed = conditions.map((c, i) => parseCondition(c, `/conditions/${i}`));
  if (new Set(parsed.map((c) => c.type)).size !== parsed.length) fail('/conditions', 'at most one condition per type');
  const agentVersion = v['agentVersion'];
  if (typeof agentVersion !== 'string' || agentVersion.length === 0 || agentVersion.length > 64) fail('/agentVersion', 'a non-empty string of at most 64 characters');
  return {
    schema: MACHINE_STATUS_SCHEMA,
    machine: name(v['machine'], '/machine'),
    set: name(v['set'], '/set'),
    desiredDigest: nullableDigest(v['desiredDigest'], '/desiredDigest'),
    currentDigest: nullableDigest(v['currentDigest'], '/currentDigest'),
    generation: generation,
    commit: commit,
    state: v['state'] as MachineState,
    conditions: parsed,
    rollout: parseRollout(v['rollout'], '/rollout'),
    reportedAt: isoTime(v['reportedAt'], '/reportedAt'),
    agentVersion,
    ...(v['historyKey'] === undefined ? {} : { historyKey: historyKeyOf(v['historyKey']) }),
    ...(v['historyHead'] === undefined ? {} : { historyHead: historyHeadOf(v['historyHead']) }),
    ...(v['heartbeatSeconds'] === undefined ? {} : { heartbeatSeconds: heartbeatOf(v['heartbeatSeconds']) }),
  };
}

// Bounded by what an agent may be configured with: a report cannot buy itself a longer life than that.
const MAX_HEARTBEAT_SECONDS = MAX_STATUS_HEARTBEAT_MS / 1000;

function heartbeatOf(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > MAX_HEARTBEAT_SECONDS) fail('/heartbeatSeconds', `a whole number of seconds from 1 to ${MAX_HEARTBEAT_SECONDS}`);
  return v;
}

function historyHeadOf(v: unknown): { seq: number; sha256: string } {
  if (!isRecord(v)) fail('/historyHead', 'an object {seq, sha256}');
  checkKeys(v, ['seq', 'sha256'], '/historyHead');
  const seq = v['seq'];
  const sha256 = v['sha256'];
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) fail('/historyHead/seq', 'a positive integer');
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) fail('/historyHead/sha256', '64 lowercase hex');
  return { seq, sha256 };
}

function historyKeyOf(v: unknown): string {
  if (typeof v !== 'string' || !HISTORY_KEY_RE.test(v)) fail('/historyKey', 'an ed25519 public key NAME:base64 (32 bytes)');
  return v;
}

/**
 * Parses status bytes strictly: valid UTF-8 JSON, the v1 schema tag, no unknown fields, every field typed.
 * Returns a ParseProblem naming `key` and the JSON pointer of the first fault instead of throwing, so a
 * fleet view can show one bad file beside the good ones.
 */
export function parseMachineStatus(bytes: Buffer | string, key: string): MachineStatus | ParseProblem {
  let json: unknown;
  try {
    json = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    return { key, problem: `${key}: not valid UTF-8 JSON (${(err as Error).message})` };
  }
  try {
    return parseObject(json);
  } catch (err) {
    if (err instanceof StatusShapeError) return { key, problem: `${key}: ${err.message}` };
    throw err;
  }
}

/** Serialises a status deterministically (fixed key order, trailing newline). */
export function serializeMachineStatus(status: MachineStatus): Buffer {
  const ordered = Object.fromEntries([...TOP_KEYS, ...OPTIONAL_KEYS].filter((k) => status[k] !== undefined).map((k) => [k, status[k]]));
  return Buffer.from(`${JSON.stringify(ordered, null, 2)}\n`, 'utf8');
}
