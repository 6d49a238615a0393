import { sleepOn, type Clock } from './clock.js';

/**
 * How long one tick keeps re-deciding a gate that says "look again soon" once the agent's follow budget is
 * spent (step-gate.ts: before that a tick follows up to a minute and the next tick follows on). Only
 * the next batch is told to (a few machines), and only while the batch before it is working; a new commit
 * is noticed after this at the latest.
 */
export const GATE_FOLLOW_WINDOW_MS = 5_000;

/**
 * Decides, and while the answer is a wait with a `retryAfterMs` that still fits in `windowMs` (on the
 * monotonic clock), sleeps that long and decides again. A machine of the next batch thus starts within
 * about `retryAfterMs` of the previous batch turning Ready, not a whole poll interval later, while a
 * long wait (a pause, a closed window, an unhealthy batch) still ends the tick at once. An abort ends the
 * wait with the last answer. `first`: a decision already made, to follow from.
 */
export async function followGate<D extends { allowed: boolean; retryAfterMs?: number }>(
  decide: () => Promise<D>,
  options: { clock: Clock; signal?: AbortSignal; windowMs?: number; first?: D },
): Promise<D> {
  const deadline = options.clock.monotonicMs() + (options.windowMs ?? GATE_FOLLOW_WINDOW_MS);
  let decision = options.first ?? (await decide());
  while (!decision.allowed && decision.retryAfterMs !== undefined && options.clock.monotonicMs() + decision.retryAfterMs <= deadline) {
    if (options.signal?.aborted === true) break;
    try {
      await sleepOn(options.clock, decision.retryAfterMs, options.signal);
    } catch {
      break; // aborted while sleeping
    }
    decision = await decide();
  }
  return decision;
}
