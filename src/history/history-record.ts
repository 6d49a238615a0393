import { createHash } from 'node:crypto';
import { isClosureRef, type ClosureRef } from '../store/closure-ref.js';

/** The schema tag of deployment-log records. A new shape gets a new tag. */
export const HISTORY_RECORD_SCHEMA = 'flotilla.history-record/v1';

/** What a machine observed: it switched, rolled back, quarantined a closure, or was held / let go by a pause. */
export type HistoryEventKind = 'switch' | 'rollback' | 'quarantine' | 'pause' | 'resume';

export const HISTORY_EVENT_KINDS: readonly HistoryEventKind[] = ['switch', 'rollback', 'quarantine', 'pause', 'resume'];

/**
 * One event as the tick notes it, before it has a place in the chain. `from`/`to`: for a switch or a
 * rollback, the closure left and the closure now running; for a quarantine, `from` is the closure
 * quarantined and `to` what runs after the rollback; for a pause or resume, `from` is what runs and `to`
 * the closure the set is held from (the desired one).
 */
export interface HistoryEvent {
  set: string;
  event: HistoryEventKind;
  from: ClosureRef | null;
  to: ClosureRef | null;
  generation: number | null;
  commit: string | null;
  time: string;
  /** A status reason constant (Succeeded, HealthCheckFailed, Paused, …). */
  reason: string;
  message: string;
}

/** A record as stored: the event with its place in the machine's chain, the signing key and the signature. */
export interface HistoryRecord extends HistoryEvent {
  schema: typeof HISTORY_RECORD_SCHEMA;
  machine: string;
  /** 1 for the machine's first record of the set, then +1 per record. */
  seq: number;
  /** sha256 hex of the previous record's canonical bytes; null for seq 1. */
  prev: string | null;
  /** The signer's public key, `NAME:base64` (it must equal the key the machine lists in its status). */
  key: string;
  /** base64 ed25519 signature over signedBytes (the record without this field). */
  signature: string;
}

// The canonical order: a parsed record re-serialises to exactly the bytes that were signed and hashed.
const SIGNED_KEYS = ['schema', 'set', 'machine', 'seq', 'prev', 'event', 'from', 'to', 'generation', 'commit', 'time', 'reason', 'message', 'key'] as const;
const ALL_KEYS = [...SIGNED_KEYS, 'signature'] as const;

/** The bytes the machine signs: every field but `signature`, in canonical order, compact JSON. */
export function signedBytes(r: Omit<HistoryRecord, 'signature'>): Buffer {
  return Buffer.from(JSON.stringify(Object.fromEntries(SIGNED_KEYS.map((k) => [k, r[k]]))), 'utf8');
}

/** The record's canonical bytes (what is stored, and what the next record's `prev` hashes). */
export function recordBytes(r: HistoryRecord): Buffer {
  return Buffer.from(JSON.stringify(Object.fromEntries(ALL_KEYS.map((k) => [k, r[k]]))), 'utf8');
}

/** sha256 hex of the record's canonical bytes: the next record's `prev`. */
export function recordHash(r: HistoryRecord): string {
  return createHash('sha256').update(recordBytes(r)).digest('hex');
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const HEX64_RE = /^[0-9a-f]{64}$/;
const COMMIT_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;
const B64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

class RecordShapeError extends Error {}

function fail(path: string, expected: string): never {
  throw new RecordShapeError(`${path}: expected ${expected}`);
}

function str(v: unknown, path: string, re: RegExp | null, max: number, what: string): string {
  if (typeof v !== 'string' || v.length > max || (re !== null && !re.test(v))) fail(path, what);
  return v;
}

function nullable<T>(v: unknown, check: (v: unknown) => T): T | null {
  return v === null ? null : check(v);
}

function closure(v: unknown, path: string): ClosureRef | null {
  return nullable(v, (x) => (isClosureRef(x) ? x : fail(path, 'null or a closure (sha256:… or /nix/store/…)')));
}

function count(v: unknown, path: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(path, `an integer ≥ ${min}`);
  return v;
}

/** Checks every field of a parsed JSON object; throws RecordShapeError naming the first bad one. */
export function recordFromJson(v: unknown): HistoryRecord {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('', 'a JSON object');
  const o = v as Record<string, unknown>;
  if (o['schema'] !== HISTORY_RECORD_SCHEMA) fail('/schema', `"${HISTORY_RECORD_SCHEMA}"`);
  for (const k of Object.keys(o)) if (!(ALL_KEYS as readonly string[]).includes(k)) fail(`/${k}`, 'no such field');
  for (const k of ALL_KEYS) if (!(k in o)) fail(`/${k}`, 'this field to be present');
  if (!(HISTORY_EVENT_KINDS as readonly unknown[]).includes(o['event'])) fail('/event', `one of ${HISTORY_EVENT_KINDS.join(', ')}`);
  const seq = count(o['seq'], '/seq', 1);
  const prev = nullable(o['prev'], (x) => str(x, '/prev', HEX64_RE, 64, 'null or 64 lowercase hex'));
  if ((seq === 1) !== (prev === null)) fail('/prev', seq === 1 ? 'null for the first record' : 'the previous record\'s hash');
  return {
    schema: HISTORY_RECORD_SCHEMA,
    set: str(o['set'], '/set', NAME_RE, 128, 'a set name'),
    machine: str(o['machine'], '/machine', NAME_RE, 128, 'a machine name'),
    seq,
    prev,
    event: o['event'] as HistoryEventKind,
    from: closure(o['from'], '/from'),
    to: closure(o['to'], '/to'),
    generation: nullable(o['generation'], (x) => count(x, '/generation', 0)),
    commit: nullable(o['commit'], (x) => str(x, '/commit', COMMIT_RE, 64, 'null or 40/64 lowercase hex')),
    time: str(o['time'], '/time', ISO_RE, 40, 'an ISO 8601 UTC time'),
    reason: str(o['reason'], '/reason', NAME_RE, 128, 'a reason name'),
    message: str(o['message'], '/message', null, 4096, 'a string of at most 4096 characters'),
    key: str(o['key'], '/key', /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}:[A-Za-z0-9+/]{43}=$/, 200, 'a public key NAME:base64'),
    signature: str(o['signature'], '/signature', B64_RE, 200, 'base64'),
  };
}

/**
 * Parses one record object's bytes strictly (UTF-8 JSON, the v1 tag, no unknown field, every field typed).
 * Returns a problem naming `key` and the field instead of throwing, so one bad record is reported in place.
 */
export function parseHistoryRecord(bytes: Buffer, key: string): HistoryRecord | { problem: string } {
  try {
    return recordFromJson(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)));
  } catch (err) {
    return { problem: `${key}${err instanceof RecordShapeError ? '' : ': not valid UTF-8 JSON'}: ${(err as Error).message}` };
  }
}
