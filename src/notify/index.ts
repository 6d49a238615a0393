// The one entry of src/notify/: events raised by a tick into the machine's outbox, and their delivery
// (fleet-wide claim, signed webhook or command, retries) off the tick's path.
export { EVENT_SCHEMA, eventBody, eventIdOf, type EventIdentity, type NotificationEvent } from './event.js';
export { SIGNATURE_HEADER, signBody, verifyBodySignature } from './hmac.js';
export { raiseEvent, receiversFor, type RaisedEvent } from './raise.js';
export { deliverOutbox, type DeliverPorts } from './deliver.js';
export { readBox, type OutboxEntry } from './outbox.js';
export { claimEvent, CLAIM_SCHEMA } from './claim.js';
export { backoffMs } from './backoff.js';
