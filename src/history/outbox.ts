import { readFile } from 'node:fs/promises';
import { historyOutboxFile } from '../generations/index.js';
import { isClosureRef } from '../store/closure-ref.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { HISTORY_EVENT_KINDS, type HistoryEvent } from './history-record.js';

const OUTBOX_SCHEMA = 'flotilla.history-outbox/v1';

/** The end of a machine's chain as its status lists it: the last seq and that record's sha256 (hex). */
export interface ChainHead {
  seq: number;
  sha256: string;
}

function isHeads(v: unknown): v is Record<string, ChainHead> | undefined {
  if (v === undefined) return true;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.values(v).every((h) => typeof h === 'object' && h !== null && Number.isSafeInteger((h as ChainHead).seq) && /^[0-9a-f]{64}$/.test(String((h as ChainHead).sha256)));
}

/** At most this many events wait; past it the oldest are dropped (and counted), so a dead store cannot fill the disk. */
export const MAX_PENDING = 10_000;

/**
 * Deployment-log events noted by ticks and not yet in the store, oldest first, and the sets this machine
 * last saw held by a pause or suspension (a pause is logged once when it starts, a resume once when it ends).
 */
export interface Outbox {
  pending: HistoryEvent[];
  held: string[];
  /** Per set, the last record this machine appended (its status lists it, so a cut-off tail is seen). */
  heads: Record<string, ChainHead>;
  /** The machine name the heads were appended as (a renamed machine starts new chains). */
  headsOf?: string;
  /** Events dropped because the outbox was full, since the file was made. */
  dropped: number;
}

function isEvent(v: unknown): v is HistoryEvent {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return typeof e['set'] === 'string' && (HISTORY_EVENT_KINDS as readonly unknown[]).includes(e['event'])
    && (e['from'] === null || isClosureRef(e['from'])) && (e['to'] === null || isClosureRef(e['to']))
    && (e['generation'] === null || typeof e['generation'] === 'number') && (e['commit'] === null || typeof e['commit'] === 'string')
    && typeof e['time'] === 'string' && typeof e['reason'] === 'string' && typeof e['message'] === 'string';
}

/**
 * Reads the outbox; an absent file is an empty outbox. A damaged file is reported through `onDamaged` and
 * read as empty (its events are lost, the chain itself stays sound). Fails only on disk errors.
 */
export async function readOutbox(stateDir: string, onDamaged: (problem: string) => void): Promise<Outbox> {
  const file = historyOutboxFile(stateDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { pending: [], held: [], heads: {}, dropped: 0 };
    throw err;
  }
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    const pending = o['pending'];
    const held = o['held'];
    const heads = o['heads'];
    if (o['schema'] !== OUTBOX_SCHEMA || !Array.isArray(pending) || !pending.every(isEvent) || !Array.isArray(held) || !held.every((h) => typeof h === 'string') || !isHeads(heads)) throw new Error('unexpected shape');
    const headsOf = typeof o['headsOf'] === 'string' ? { headsOf: o['headsOf'] } : {};
    return { pending, held, heads: heads ?? {}, ...headsOf, dropped: typeof o['dropped'] === 'number' ? o['dropped'] : 0 };
  } catch (err) {
    onDamaged(`${file} is damaged (${(err as Error).message}); starting a new outbox`);
    return { pending: [], held: [], heads: {}, dropped: 0 };
  }
}

/** Writes the outbox atomically (temp, fsync, rename, fsync dir), keeping at most MAX_PENDING events. */
export async function writeOutbox(stateDir: string, outbox: Outbox): Promise<void> {
  const over = Math.max(0, outbox.pending.length - MAX_PENDING);
  const body = { schema: OUTBOX_SCHEMA, pending: outbox.pending.slice(over), held: outbox.held, heads: outbox.heads, headsOf: outbox.headsOf, dropped: outbox.dropped + over };
  await writeFileAtomic(historyOutboxFile(stateDir), `${JSON.stringify(body)}\n`, 0o600);
}
