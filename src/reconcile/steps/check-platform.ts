import { Reason } from '../../status/conditions.js';
import { proceed, stopWith, type SetStep } from './set-run.js';

/**
 * Refuses (stalled, VerificationFailed) a set that declares another platform than this machine's, before
 * anything is recorded or fetched: a closure built for another architecture must never be staged here.
 */
export const checkPlatform: SetStep = {
  name: 'check-platform',
  run(run) {
    const { set, machine } = run.ctx;
    if (set.platform === machine.platform) return Promise.resolve(proceed(run));
    const message = `set ${set.name} declares platform ${set.platform}; this machine is ${machine.platform}: closure refused`;
    return Promise.resolve(stopWith(run, { result: 'failed', reason: Reason.VerificationFailed, message, stalled: true, rollout: null }));
  },
};
