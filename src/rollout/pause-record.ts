/** The schema tag of pause markers. */
export const PAUSE_SCHEMA = 'flotilla.pause/v1';

/**
 * `pauses/SET.json`: an operator's emergency stop of one set. `by` and `reason` are for people; `at` is the
 * writer's wall clock (ISO 8601). Its presence is what pauses: the fields only say who to ask.
 */
export interface PauseRecord {
  schema: typeof PAUSE_SCHEMA;
  set: string;
  by: string;
  at: string;
  reason: string;
}

/** The longest `by` and `reason` kept: a marker is read by every machine on every tick. */
export const MAX_PAUSE_TEXT = 1000;

/**
 * Parses pause bytes. Returns a problem string instead of throwing: readers treat an unreadable marker as a
 * pause all the same (its presence stops the set; only who and why are lost).
 */
export function parsePauseRecord(bytes: Buffer, key: string): PauseRecord | { problem: string } {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    const { set, by, at, reason } = v;
    if (v['schema'] === PAUSE_SCHEMA && typeof set === 'string' && typeof by === 'string' && typeof at === 'string' && typeof reason === 'string') {
      return { schema: PAUSE_SCHEMA, set, by, at, reason };
    }
    return { problem: `${key}: not a ${PAUSE_SCHEMA} object` };
  } catch (err) {
    return { problem: `${key}: not JSON (${(err as Error).message})` };
  }
}

/** Serialises a pause record. */
export function serializePauseRecord(r: PauseRecord): Buffer {
  return Buffer.from(`${JSON.stringify({ schema: r.schema, set: r.set, by: r.by, at: r.at, reason: r.reason }, null, 2)}\n`, 'utf8');
}
