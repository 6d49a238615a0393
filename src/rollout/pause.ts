import { PreconditionFailedError } from '../errors/index.js';
import { pauseKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { MAX_PAUSE_TEXT, PAUSE_SCHEMA, parsePauseRecord, serializePauseRecord, type PauseRecord } from './pause-record.js';

const MAX_PAUSE_BYTES = 16 * 1024;

/** An unreadable marker still pauses: the set, and why the details are missing. */
function orPlaceholder(parsed: PauseRecord | { problem: string }, set: string): PauseRecord {
  if ('problem' in parsed) return { schema: PAUSE_SCHEMA, set, by: '?', at: new Date(0).toISOString(), reason: parsed.problem };
  return parsed;
}

/** What writePause did: `created` false when the set was already paused (the first marker is kept). */
export interface PauseWrite {
  created: boolean;
  record: PauseRecord;
}

/**
 * Pauses `set`: creates `pauses/SET.json` with create-if-absent, so a second pause keeps the first one's
 * who and when (and says so). Fails with the store's errors.
 */
export async function writePause(store: Store, set: string, by: string, reason: string, at: Date): Promise<PauseWrite> {
  const record: PauseRecord = { schema: PAUSE_SCHEMA, set, by: by.slice(0, MAX_PAUSE_TEXT), at: at.toISOString(), reason: reason.slice(0, MAX_PAUSE_TEXT) };
  try {
    await store.put(pauseKey(set), serializePauseRecord(record), { ifNoneMatch: '*' });
    return { created: true, record };
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
    const existing = await readPause(store, set);
    // Resumed between our write and our read: nothing to keep, so write ours.
    return existing === null ? writePause(store, set, by, reason, at) : { created: false, record: existing };
  }
}

/** Reads the pause of `set`; null when it is not paused. Store errors pass through: a reader must not take them for "not paused". */
export async function readPause(store: Store, set: string): Promise<PauseRecord | null> {
  const key = pauseKey(set);
  try {
    return orPlaceholder(parsePauseRecord(await store.getBytes(key, { maxBytes: MAX_PAUSE_BYTES }), key), set);
  } catch (err) {
    if (store.isNotFound(err)) return null;
    throw err;
  }
}

/** Lifts the pause of `set`; returns the record it removed, or null when the set was not paused. Store errors pass through. */
export async function clearPause(store: Store, set: string): Promise<PauseRecord | null> {
  const record = await readPause(store, set);
  if (record === null) return null;
  await store.delete(pauseKey(set)).catch((err: unknown) => {
    if (!store.isNotFound(err)) throw err;
  });
  return record;
}
