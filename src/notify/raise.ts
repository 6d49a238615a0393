import type { EventKind, Receiver } from '../declarations/types.js';
import type { ClosureRef } from '../store/closure-ref.js';
import { EVENT_SCHEMA, eventIdOf, type EventIdentity, type NotificationEvent } from './event.js';
import { enqueueEntry, OUTBOX_SCHEMA } from './outbox.js';

/** One event a tick saw, before it is in the outbox. */
export interface RaisedEvent extends EventIdentity {
  set: string;
  digest: ClosureRef;
  commit: string;
  /** The machine raising (and, if it wins the claim, sending) it. */
  sender: string;
  reason?: string;
  message?: string;
  readyCheck?: { machines: string[]; target: ClosureRef };
}

/** The receivers that want `kind` events of `set`. */
export function receiversFor(receivers: readonly Receiver[], kind: EventKind, set: string): Receiver[] {
  return receivers.filter((r) => r.events.includes(kind) && (r.sets === undefined || r.sets.includes(set)));
}

/**
 * Puts `e` into this machine's outbox for delivery off the tick's path (deliver.ts), unless no receiver
 * wants it or it was raised here before. Only local disk is touched: raising never waits on the network.
 * Returns whether an entry was added. Fails with InvalidNameError for an id that is no name, and with
 * the file system's errors.
 */
export async function raiseEvent(stateDir: string, o: { receivers: readonly Receiver[]; coordination: string; now: Date }, e: RaisedEvent): Promise<boolean> {
  const pending = receiversFor(o.receivers, e.kind, e.set);
  if (pending.length === 0) return false;
  const identity: EventIdentity = { kind: e.kind, rollout: e.rollout, ...(e.batch !== undefined ? { batch: e.batch } : {}), ...(e.machine !== undefined ? { machine: e.machine } : {}), ...(e.kind === 'agent-stalled' && e.reason !== undefined ? { reason: e.reason } : {}) };
  const event: NotificationEvent = {
    schema: EVENT_SCHEMA,
    id: eventIdOf(identity),
    kind: e.kind,
    set: e.set,
    rollout: e.rollout,
    digest: e.digest,
    commit: e.commit,
    machine: e.sender,
    ...(e.batch !== undefined ? { batch: e.batch } : {}),
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    ...(e.message !== undefined ? { message: e.message.slice(0, 2000) } : {}),
    time: o.now.toISOString(),
  };
  const at = o.now.toISOString();
  return enqueueEntry(stateDir, {
    schema: OUTBOX_SCHEMA, event, coordination: o.coordination, pending, claimed: false,
    ...(e.readyCheck !== undefined ? { readyCheck: e.readyCheck } : {}),
    attempts: 0, nextAt: at, raisedAt: at,
  });
}
