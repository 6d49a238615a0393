import { isClosureRef, type ClosureRef } from '../store/closure-ref.js';
import { isReason, type ReasonName } from '../status/conditions.js';

/** The schema tag of quarantine objects. */
export const QUARANTINE_SCHEMA = 'flotilla.quarantine/v1';

/** One machine's failure on the quarantined digest. `time` is that machine's wall clock (for people). */
export interface QuarantineFailure {
  machine: string;
  reason: ReasonName;
  message: string;
  time: string;
}

/** `quarantine/SET/HEX`: a digest that failed health somewhere in the set; one entry per failed machine. */
export interface QuarantineRecord {
  schema: typeof QUARANTINE_SCHEMA;
  set: string;
  digest: ClosureRef;
  failures: QuarantineFailure[];
}

function isFailure(v: unknown): v is QuarantineFailure {
  if (typeof v !== 'object' || v === null) return false;
  const f = v as Record<string, unknown>;
  return typeof f['machine'] === 'string' && isReason(f['reason']) && typeof f['message'] === 'string' && typeof f['time'] === 'string';
}

/**
 * Parses quarantine bytes. Returns a problem string instead of throwing. Callers treat an unreadable
 * quarantine object as a quarantine (its mere presence stops the fleet; only the details are lost).
 */
export function parseQuarantineRecord(bytes: Buffer, key: string): QuarantineRecord | { problem: string } {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    if (v['schema'] === QUARANTINE_SCHEMA && typeof v['set'] === 'string' && isClosureRef(v['digest']) && Array.isArray(v['failures']) && v['failures'].every(isFailure)) {
      return { schema: QUARANTINE_SCHEMA, set: v['set'], digest: v['digest'], failures: v['failures'] };
    }
    return { problem: `${key}: not a ${QUARANTINE_SCHEMA} object` };
  } catch (err) {
    return { problem: `${key}: not JSON (${(err as Error).message})` };
  }
}

/** Serialises a quarantine record. */
export function serializeQuarantineRecord(r: QuarantineRecord): Buffer {
  return Buffer.from(`${JSON.stringify({ schema: r.schema, set: r.set, digest: r.digest, failures: r.failures }, null, 2)}\n`, 'utf8');
}
