import type { Logger } from 'pino';
import { LeaseError } from '../errors/index.js';
import { everyOn, type Clock } from '../rollout/clock.js';
import type { Lease } from '../rollout/lease.js';

/** A held slot kept alive while a machine drains, switches, activates and checks health. */
export interface LeaseKeeper {
  /**
   * Proves, by a compare-and-swap renewal written now, that the slot is still ours with our fencing token.
   * Call it right before each side effect that the slot licenses (drain, switch). Fails with LeaseError
   * when the slot was taken over, released or cleared, or when renewals could not reach the store for a
   * whole TTL; from then on the keeper is lost and stops renewing. Store errors pass through. No-op
   * without a lease.
   */
  confirm(): Promise<void>;
  /** Stops renewing (the caller releases, or keeps, the slot itself). */
  stop(): void;
  /** True once a renewal or `confirm` found the slot no longer ours. */
  lost(): boolean;
}

const NO_LEASE: LeaseKeeper = { confirm: () => Promise.resolve(), stop: () => undefined, lost: () => false };

/**
 * Renews `lease` every third of its TTL until stopped, so activation plus health may last longer than the
 * TTL without the slot expiring under us. Renewals are serialised with `confirm` (two CAS writes over the
 * same etag would make the second look like a takeover). A renewal that fails for a store reason is tried
 * again on the next beat; only when our last confirmed write is older than the TTL do we count the slot
 * as lost, since another machine may then have taken it. The beat runs on `clock` (a real timer by default).
 */
export function keepLease(lease: Lease | null, log: Logger, clock?: Pick<Clock, 'every'>): LeaseKeeper {
  if (lease === null) return NO_LEASE;
  let lost: LeaseError | null = null;
  let queue: Promise<void> = Promise.resolve();
  const renewNow = (): Promise<void> => {
    const next = queue.then(async () => {
      if (lost) throw lost;
      try {
        await lease.renew();
      } catch (err) {
        if (err instanceof LeaseError) lost = err;
        else if (lease.remainingMs() <= 0) lost = new LeaseError(`lease ${lease.key} could not be renewed for a whole TTL: ${(err as Error).message}`, { key: lease.key, token: lease.token });
        if (lost) stopBeat();
        throw lost ?? err;
      }
    });
    queue = next.catch(() => undefined);
    return next;
  };
  const stopBeat = everyOn(clock, Math.max(250, Math.floor(lease.ttlMs / 3)), () => {
    renewNow().catch((err: unknown) => log.warn({ lease: lease.key, err: (err as Error).message, lost: lost !== null }, 'lease renewal failed'));
  });
  return {
    confirm: renewNow,
    stop: stopBeat,
    lost: () => lost !== null,
  };
}
