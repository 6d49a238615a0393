import { LeaseError, PreconditionFailedError } from '../errors/index.js';
import type { Store } from '../store/store.js';
import { sleepOn, type Clock } from './clock.js';
import { leaseTokenKey } from './lease-keys.js';
import { readWithEtag } from './lease-record.js';

const TOKEN_SCHEMA = 'flotilla.lease-token/v1';

function parseToken(bytes: Buffer): number | null {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as { schema?: unknown; token?: unknown };
    return v.schema === TOKEN_SCHEMA && typeof v.token === 'number' && Number.isSafeInteger(v.token) && v.token >= 0 ? v.token : null;
  } catch {
    return null;
  }
}

/** The longest wait between two tries of a contended counter. */
const TOKEN_BACKOFF_CAP_MS = 2_000;

/**
 * The wait after losing the counter's CAS `attempt + 1` times: a random time up to 25 ms doubled per loss
 * (full jitter). A whole batch taking its tokens in the same second then spreads out after a few losses
 * instead of re-reading the counter in lock step: each machine tries about log2(batch) times, not batch/2.
 */
export function tokenBackoffMs(attempt: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(TOKEN_BACKOFF_CAP_MS, 25 * 2 ** Math.min(attempt, 16)));
}

/**
 * Takes the next fencing token of a rollout: bumps `leases/SET/ROLLOUT/token` by compare-and-swap
 * (create-if-absent for the first, starting at 1), retrying on conflict with a short random backoff.
 * Every call returns a distinct number, larger than every number returned before it finished.
 * Fails with LeaseError when the counter object is malformed (never reset it: tokens would repeat) or
 * after `maxAttempts` lost races; store errors pass through. The backoff waits on `clock` (a real timer by default).
 */
export async function nextFencingToken(store: Store, set: string, rollout: string, maxAttempts = 100, clock?: Pick<Clock, 'sleep'>): Promise<number> {
  const key = leaseTokenKey(set, rollout);
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const cur = await readWithEtag(store, key);
    let next: number;
    if (cur === null) next = 1;
    else {
      const n = parseToken(cur.bytes);
      if (n === null) throw new LeaseError(`fencing counter ${key} in ${store.url} is malformed; repair it by hand to a number above every token in use`, { key });
      next = n + 1;
    }
    const body = Buffer.from(JSON.stringify({ schema: TOKEN_SCHEMA, token: next }), 'utf8');
    try {
      await store.put(key, body, cur === null ? { ifNoneMatch: '*' } : { ifMatch: cur.etag });
      return next;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      await sleepOn(clock, tokenBackoffMs(attempt));
    }
  }
  throw new LeaseError(`could not take a fencing token for ${key} after ${maxAttempts} attempts (heavy contention)`, { key });
}
