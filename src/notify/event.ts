import type { EventKind } from '../declarations/types.js';
import type { ClosureRef } from '../store/closure-ref.js';
import { checkName } from '../store/keys.js';

/** The schema tag of the event JSON a receiver gets (docs/file-formats.md#notification-events). */
export const EVENT_SCHEMA = 'flotilla.event/v1';

/**
 * One event as receivers get it: the webhook's POST body and the command's stdin. `machine` is the machine
 * that raised and sent it; `batch` is set for batch-ready, `reason`/`message` for failures and stalls.
 */
export interface NotificationEvent {
  schema: typeof EVENT_SCHEMA;
  /** Deterministic: the same event gets the same id on every machine (eventIdOf). */
  id: string;
  kind: EventKind;
  set: string;
  rollout: string;
  digest: ClosureRef;
  commit: string;
  machine: string;
  batch?: number;
  reason?: string;
  message?: string;
  time: string;
}

/** What makes an event itself, as opposed to who saw it when. */
export interface EventIdentity {
  kind: EventKind;
  rollout: string;
  /** batch-ready only. */
  batch?: number;
  /** machine-rolled-back and agent-stalled: the machine the event is about. */
  machine?: string;
  /** agent-stalled: a machine stalled for another reason in the same rollout is another event. */
  reason?: string;
}

/**
 * The event's id, the same on every machine that sees it: `ROLLOUT.KIND[.bBATCH][.MACHINE][.REASON]`. The
 * rollout id already names the set and the target digest, so two rollouts never share an id, and the
 * fleet-wide claim (claim.ts) and the outbox key on it. Throws InvalidNameError when a part is no name
 * (a 128-character machine name can make the id too long: such an id is refused, never truncated into
 * another event's).
 */
export function eventIdOf(e: EventIdentity): string {
  const parts = [e.rollout, e.kind];
  if (e.batch !== undefined) {
    if (!Number.isInteger(e.batch) || e.batch < 0) throw new RangeError(`batch must be a non-negative integer, got ${e.batch}`);
    parts.push(`b${e.batch}`);
  }
  if (e.machine !== undefined) parts.push(checkName(e.machine, 'machine name'));
  if (e.reason !== undefined) parts.push(checkName(e.reason, 'reason'));
  return checkName(parts.join('.'), 'event id');
}

/** The exact bytes sent (and signed): compact JSON with a trailing newline. */
export function eventBody(event: NotificationEvent): Buffer {
  return Buffer.from(`${JSON.stringify(event)}\n`, 'utf8');
}
