import { setTimeout as sleep } from 'node:timers/promises';
import { PreconditionFailedError, QuarantinedError } from '../errors/index.js';
import { isClosureKeySegment, type ClosureRef } from '../store/closure-ref.js';
import { digestFromHex, isDigest } from '../store/digest.js';
import { quarantineKey, quarantinePrefix } from '../store/keys.js';
import { listAll, type Store } from '../store/store.js';
import { readWithEtag } from './lease-record.js';
import {
  QUARANTINE_SCHEMA,
  parseQuarantineRecord,
  serializeQuarantineRecord,
  type QuarantineFailure,
  type QuarantineRecord,
} from './quarantine-record.js';

const MAX_QUARANTINE_BYTES = 256 * 1024;
const MAX_ATTEMPTS = 50;

/** An unreadable quarantine object still quarantines: we keep the digest and say why details are missing. */
function orPlaceholder(parsed: QuarantineRecord | { problem: string }, set: string, digest: ClosureRef): QuarantineRecord {
  if ('problem' in parsed) {
    return { schema: QUARANTINE_SCHEMA, set, digest, failures: [{ machine: '?', reason: 'Quarantined', message: parsed.problem, time: new Date(0).toISOString() }] };
  }
  return parsed;
}

/**
 * Records that `failure.machine` failed on `digest`: creates `quarantine/SET/HEX` with create-if-absent,
 * or appends this machine to the existing record by compare-and-swap (a machine is listed once; the first
 * entry wins). Returns the record as stored. Fails with the store's errors, or QuarantinedError after
 * many lost races.
 */
export async function writeQuarantine(store: Store, set: string, digest: ClosureRef, failure: QuarantineFailure): Promise<QuarantineRecord> {
  const key = quarantineKey(set, digest);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const cur = await readWithEtag(store, key, MAX_QUARANTINE_BYTES);
    const base = cur === null ? null : orPlaceholder(parseQuarantineRecord(cur.bytes, key), set, digest);
    if (base?.failures.some((f) => f.machine === failure.machine)) return base;
    const next: QuarantineRecord = { schema: QUARANTINE_SCHEMA, set, digest, failures: [...(base?.failures.filter((f) => f.machine !== '?') ?? []), failure] };
    try {
      await store.put(key, serializeQuarantineRecord(next), cur === null ? { ifNoneMatch: '*' } : { ifMatch: cur.etag });
      return next;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      await sleep(Math.floor(Math.random() * Math.min(100, 5 + attempt * 10))); // spread out the retries
    }
  }
  throw new QuarantinedError(`could not record the failure of ${failure.machine} in ${key} after ${MAX_ATTEMPTS} attempts`, { key });
}

/** Reads the quarantine of `digest` in `set`; null when it is not quarantined. */
export async function readQuarantine(store: Store, set: string, digest: ClosureRef): Promise<QuarantineRecord | null> {
  const key = quarantineKey(set, digest);
  try {
    const bytes = await store.getBytes(key, { maxBytes: MAX_QUARANTINE_BYTES });
    return orPlaceholder(parseQuarantineRecord(bytes, key), set, digest);
  } catch (err) {
    if (store.isNotFound(err)) return null;
    throw err;
  }
}

/** Every quarantine of `set` (keys that are no closure key segment are ignored). */
export async function listQuarantines(store: Store, set: string): Promise<QuarantineRecord[]> {
  const prefix = quarantinePrefix(set);
  const out: QuarantineRecord[] = [];
  for await (const info of listAll(store, prefix)) {
    const segment = info.key.slice(prefix.length);
    if (!isClosureKeySegment(segment)) continue;
    // A Nix path's key segment is only its hash: the record itself says which closure it quarantines.
    const bytes = await store.getBytes(info.key, { maxBytes: MAX_QUARANTINE_BYTES }).catch((err: unknown) => {
      if (store.isNotFound(err)) return null;
      throw err;
    });
    if (bytes === null) continue;
    const parsed = parseQuarantineRecord(bytes, info.key);
    if (!('problem' in parsed)) out.push(parsed);
    // An unreadable record still quarantines (readQuarantine says so for the set's own closure); a listing can
    // name its closure only from a digest key, not from a Nix path's bare hash.
    else if (isDigest(`sha256:${segment}`)) out.push(orPlaceholder(parsed, set, digestFromHex(segment)));
  }
  return out;
}

/** Removes the quarantine of `digest` in `set`. Returns false when there was none. Store errors pass through. */
export async function clearQuarantine(store: Store, set: string, digest: ClosureRef): Promise<boolean> {
  const key = quarantineKey(set, digest);
  try {
    await store.head(key);
  } catch (err) {
    if (store.isNotFound(err)) return false;
    throw err;
  }
  await store.delete(key);
  return true;
}
