import { UnsupportedOperationError } from '../errors/index.js';
import { probeConditionalWrites, type ProbeResult } from '../store/probe.js';
import type { Store } from '../store/store.js';

/** The probe as a port, so callers (and tests) can pass the real one or a recorded answer. */
export type ConditionalWriteProbe = (store: Store) => Promise<ProbeResult>;

const verdicts = new WeakMap<Store, Promise<ProbeResult>>();

/**
 * Refuses to coordinate a rollout through a store that does not honour conditional writes: without
 * create-if-absent and compare-and-swap two machines could both "win" a slot and over-commit the batch.
 * Probes each Store object once (the answer is cached for its life) and only when `needsLeases`
 * (a set with `batchSize: all` and no canary needs no leases, so any store will do).
 * Throws UnsupportedOperationError naming the store and what the probe saw; the agent reports it with
 * reason CoordinationUnsafe and changes nothing.
 */
export async function requireCoordinationSafe(store: Store, needsLeases: boolean, probe: ConditionalWriteProbe = probeConditionalWrites): Promise<void> {
  if (!needsLeases) return;
  let verdict = verdicts.get(store);
  if (verdict === undefined) {
    verdict = probe(store);
    verdicts.set(store, verdict);
  }
  const result = await verdict;
  if (!result.ok) {
    throw new UnsupportedOperationError(
      `refusing to coordinate rollouts through ${store.url}: ${result.reason ?? 'conditional writes are not honoured'}. ` +
        'Leases need create-if-absent and compare-and-swap (S3 If-None-Match/If-Match, a local or POSIX-shared directory); ' +
        'use such a store for coordination, or set batchSize: all with no canary to deploy without leases.',
      { url: store.url, reason: result.reason ?? null },
    );
  }
}
