import { readFile } from 'node:fs/promises';
import { isClosureRef, type ClosureRef } from '../store/closure-ref.js';
import { GenerationError } from '../errors/index.js';
import { writeFileAtomic } from '../util/atomic-write.js';

/** Where a pending switch has got to: `switched` is written before `current` moves. */
export type PendingPhase = 'switched' | 'activating' | 'health';
const PHASES: readonly PendingPhase[] = ['switched', 'activating', 'health'];

/** A switch that has started but is not yet committed (or rolled back). Written before `current` moves. */
export interface PendingSwitch {
  /** The generation `current` pointed to before the switch; absent on a first deployment. */
  from?: number;
  to: number;
  digest: ClosureRef;
  startedAt: string;
  phase: PendingPhase;
}

/**
 * A rollback under way, written (with the bad mark and the new `active`) before `current` moves back and
 * cleared once the target is linked and activated. Recovery always completes it. `to` absent: unset `current`.
 */
export interface RollbackMarker {
  from?: number;
  to?: number;
  startedAt: string;
}

/** Why a closure digest is refused for this set, and for which desired digest that holds. */
export interface BadEntry {
  reason: string;
  attempts: number;
  at: string;
  /** The desired digest the failure happened under; the entry holds only while that is still desired. */
  desiredDigest: ClosureRef;
  desiredCommit?: string;
}

/** sets/SET/state.json. Schema-versioned; read strictly. */
export interface SetState {
  version: 1;
  /** The generation last known good (activation and health passed). */
  active?: number;
  /** The generation that was active before `active`; where a rollback goes. */
  previousActive?: number;
  pending?: PendingSwitch;
  rollback?: RollbackMarker;
  bad: Record<string, BadEntry>;
  lastDesired?: ClosureRef;
  /** The highest generation number ever handed out: numbers are never reused, even after GC. */
  lastNumber: number;
}

/** The state of a set that has never been staged. */
export function emptyState(): SetState {
  return { version: 1, bad: {}, lastNumber: 0 };
}

function fail(file: string, field: string, why: string): never {
  throw new GenerationError(`${file}: ${field} ${why}`, { file, field });
}

function optGen(file: string, o: Record<string, unknown>, key: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(file, key, 'must be a positive integer');
  return v;
}

function optString(file: string, o: Record<string, unknown>, key: string, field: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') fail(file, field, 'must be a string');
  return v;
}

function reqString(file: string, o: Record<string, unknown>, key: string, field: string): string {
  const v = optString(file, o, key, field);
  if (v === undefined) fail(file, field, 'is missing');
  return v;
}

function reqDigest(file: string, o: Record<string, unknown>, key: string, field: string): ClosureRef {
  const v = o[key];
  if (!isClosureRef(v)) fail(file, field, 'must be sha256: followed by 64 lowercase hex, or a Nix store path');
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parsePending(file: string, v: unknown): PendingSwitch | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) fail(file, 'pending', 'must be an object');
  const to = optGen(file, v, 'to');
  if (to === undefined) fail(file, 'pending.to', 'is missing');
  const phase = v['phase'];
  if (!PHASES.includes(phase as PendingPhase)) fail(file, 'pending.phase', `must be one of ${PHASES.join(', ')}`);
  const from = optGen(file, v, 'from');
  return {
    ...(from !== undefined ? { from } : {}),
    to,
    digest: reqDigest(file, v, 'digest', 'pending.digest'),
    startedAt: reqString(file, v, 'startedAt', 'pending.startedAt'),
    phase: phase as PendingPhase,
  };
}

function parseRollback(file: string, v: unknown): RollbackMarker | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) fail(file, 'rollback', 'must be an object');
  const from = optGen(file, v, 'from');
  const to = optGen(file, v, 'to');
  return {
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    startedAt: reqString(file, v, 'startedAt', 'rollback.startedAt'),
  };
}

function parseBad(file: string, v: unknown): Record<string, BadEntry> {
  if (!isObject(v)) fail(file, 'bad', 'must be an object');
  const out: Record<string, BadEntry> = {};
  for (const [digest, e] of Object.entries(v)) {
    const field = `bad["${digest.slice(0, 80)}"]`;
    if (!isClosureRef(digest)) fail(file, field, 'key must be a digest or a Nix store path');
    if (!isObject(e)) fail(file, field, 'must be an object');
    const attempts = e['attempts'];
    if (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 1) fail(file, `${field}.attempts`, 'must be a positive integer');
    const desiredCommit = optString(file, e, 'desiredCommit', `${field}.desiredCommit`);
    out[digest] = {
      reason: reqString(file, e, 'reason', `${field}.reason`),
      attempts,
      at: reqString(file, e, 'at', `${field}.at`),
      desiredDigest: reqDigest(file, e, 'desiredDigest', `${field}.desiredDigest`),
      ...(desiredCommit !== undefined ? { desiredCommit } : {}),
    };
  }
  return out;
}

/** Validates parsed JSON as a SetState; throws GenerationError naming `file` and the field. */
export function parseState(file: string, raw: unknown): SetState {
  if (!isObject(raw)) fail(file, '(root)', 'must be a JSON object');
  if (raw['version'] !== 1) fail(file, 'version', `must be 1 (got ${JSON.stringify(raw['version'])})`);
  const lastNumber = raw['lastNumber'];
  if (typeof lastNumber !== 'number' || !Number.isInteger(lastNumber) || lastNumber < 0) fail(file, 'lastNumber', 'must be a non-negative integer');
  const active = optGen(file, raw, 'active');
  const previousActive = optGen(file, raw, 'previousActive');
  const pending = parsePending(file, raw['pending']);
  const rollback = parseRollback(file, raw['rollback']);
  const lastDesired = raw['lastDesired'] === undefined ? undefined : reqDigest(file, raw, 'lastDesired', 'lastDesired');
  return {
    version: 1,
    ...(active !== undefined ? { active } : {}),
    ...(previousActive !== undefined ? { previousActive } : {}),
    ...(pending ? { pending } : {}),
    ...(rollback ? { rollback } : {}),
    bad: parseBad(file, raw['bad']),
    ...(lastDesired ? { lastDesired } : {}),
    lastNumber,
  };
}

/**
 * Reads a set's state.json strictly. A missing file is the empty state (a set never staged);
 * unreadable JSON or a wrong field is a GenerationError naming the file and field, never silently empty.
 */
export async function readState(file: string): Promise<SetState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw new GenerationError(`${file}: cannot read: ${(err as Error).message}`, { file }, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new GenerationError(`${file}: not valid JSON: ${(err as Error).message}`, { file }, { cause: err });
  }
  return parseState(file, raw);
}

/** Writes state.json atomically (temp, fsync, rename, fsync dir). Fails with the fs error (ENOSPC…). */
export async function writeState(file: string, state: SetState): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
}
