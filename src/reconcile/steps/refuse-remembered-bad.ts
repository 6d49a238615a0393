import { isBadIn } from '../../generations/index.js';
import { Reason } from '../../status/conditions.js';
import { proceed, rolloutRefOf, stopWith, type SetStep } from './set-run.js';

/**
 * Stops (stalled, RolledBack) when the desired digest already failed here under this same desired digest:
 * it is not retried until the desired digest changes or an operator clears it. Judged on the state read
 * when the set's turn began. Never throws.
 */
export const refuseRememberedBad: SetStep = {
  name: 'refuse-remembered-bad',
  run(run) {
    const { set } = run.ctx;
    if (!isBadIn(run.state, set.closure, set.closure)) return Promise.resolve(proceed(run));
    const bad = run.state.bad[set.closure];
    const message = `${set.closure} failed here before (${bad?.reason ?? 'unknown'}); not retried until the desired digest changes or \`flotilla clear ${set.name}\``;
    return Promise.resolve(stopWith(run, { result: 'rolled-back', reason: Reason.RolledBack, message, stalled: true, rollout: rolloutRefOf(run) }));
  },
};
