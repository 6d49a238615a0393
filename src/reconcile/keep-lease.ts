import type { Logger } from 'pino';
import type { Lease } from '../rollout/lease.js';

/**
 * Renews `lease` every third of its TTL while the switch, activation and health run, so a slow health
 * check does not let the slot expire under us. Returns a stop function; a failed renewal is logged and
 * remembered (`lost()`): the slot was taken over, and the caller reports LeaseLost.
 */
export function keepLease(lease: Lease | null, log: Logger): { stop(): void; lost(): boolean } {
  if (lease === null) return { stop: () => undefined, lost: () => false };
  let lost = false;
  const timer = setInterval(() => {
    lease.renew().catch((err: unknown) => {
      lost = true;
      log.warn({ lease: lease.key, err: (err as Error).message }, 'lease renewal failed');
    });
  }, Math.max(250, Math.floor(lease.ttlMs / 3)));
  timer.unref();
  return { stop: () => clearInterval(timer), lost: () => lost };
}
