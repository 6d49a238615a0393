import { PreconditionFailedError } from '../errors/index.js';
import { notificationClaimKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import type { NotificationEvent } from './event.js';

/** The schema tag of a claim object `notifications/SET/ID.json`. */
export const CLAIM_SCHEMA = 'flotilla.notification-claim/v1';

const MAX_CLAIM_BYTES = 16 * 1024;

/**
 * Claims the right to send `event`, fleet-wide: creates `notifications/SET/ID.json` only if absent, so of
 * all the machines that saw the same event exactly one wins. A claim this machine made before (a crash
 * between claiming and sending, then a restart) is still its own: 'won'. Every request has `deadlineMs`.
 * Fails with the store's errors (TransportError, TimeoutError...): the caller retries later.
 */
export async function claimEvent(store: Store, event: NotificationEvent, deadlineMs: number): Promise<'won' | 'lost'> {
  const key = notificationClaimKey(event.set, event.id);
  const body = Buffer.from(`${JSON.stringify({ schema: CLAIM_SCHEMA, id: event.id, set: event.set, kind: event.kind, machine: event.machine, claimedAt: event.time })}\n`, 'utf8');
  try {
    await store.put(key, body, { ifNoneMatch: '*', contentType: 'application/json', signal: AbortSignal.timeout(deadlineMs) });
    return 'won';
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
  }
  const bytes = await store.getBytes(key, { maxBytes: MAX_CLAIM_BYTES, signal: AbortSignal.timeout(deadlineMs) });
  const holder = parseClaimMachine(bytes);
  return holder === event.machine ? 'won' : 'lost';
}

/** The machine named in a claim's bytes, or undefined when they are not a claim. */
export function parseClaimMachine(bytes: Buffer): string | undefined {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as { schema?: unknown; machine?: unknown };
    return v.schema === CLAIM_SCHEMA && typeof v.machine === 'string' ? v.machine : undefined;
  } catch {
    return undefined;
  }
}
