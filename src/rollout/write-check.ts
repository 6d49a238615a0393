import { PreconditionFailedError, UnsupportedOperationError } from '../errors/index.js';
import type { PutOptions, Store } from '../store/store.js';

/** The conditional writes a store can get wrong, as named in messages and error data. */
export type ConditionalKind = 'create-if-absent' | 'compare-and-swap';

/**
 * Checks, right after a conditional write of `body` to `key` won, that the store still honours the
 * condition: the very same write again must now lose (the object exists; its etag moved on). A store that
 * lets it win too ignores the condition, and everything its leases said may be wrong. Costs one request per
 * won claim. The repeat writes the same bytes, so on a store that honours conditions it changes nothing.
 * Throws UnsupportedOperationError with data `{ misbehaved }` (see isMisbehaviour) when the write wins again;
 * the store's other errors pass through.
 */
export async function confirmConditionLoses(store: Store, key: string, body: Buffer, condition: Pick<PutOptions, 'ifNoneMatch' | 'ifMatch'>): Promise<void> {
  const kind: ConditionalKind = condition.ifNoneMatch === '*' ? 'create-if-absent' : 'compare-and-swap';
  try {
    await store.put(key, body, { ...condition, contentType: 'application/json' });
  } catch (err) {
    if (err instanceof PreconditionFailedError) return;
    throw err;
  }
  throw new UnsupportedOperationError(
    `store ${store.url} let a ${kind} write to ${key} win twice: it does not honour conditional writes now. ` +
      'Refusing to coordinate through it until the precondition probe passes again; check what sits in front of the store (a proxy dropping If-None-Match/If-Match headers).',
    { url: store.url, key, misbehaved: kind },
  );
}

/** True for the error confirmConditionLoses throws: the store was caught ignoring a write condition. */
export function isMisbehaviour(err: unknown): err is UnsupportedOperationError {
  return err instanceof UnsupportedOperationError && typeof err.data['misbehaved'] === 'string';
}
