import { raiseRolloutStarted } from '../raise-events.js';
import { proceed, required, type SetStep } from './set-run.js';

/**
 * Raises rollout-started when a machine of the first batch holds its slot (the claim in the store makes it
 * one notification however many canaries there are). Only the outbox on local disk is written: the slot is
 * not held up by any receiver. Never stops the set.
 */
export const announceRolloutStart: SetStep = {
  name: 'announce-rollout-start',
  async run(run) {
    const { lease, rollout } = required(run, 'granted', 'announce-rollout-start');
    if (lease !== null) await raiseRolloutStarted(run.ctx, rollout);
    return proceed(run);
  },
};
