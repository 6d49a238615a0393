import { Reason } from '../../status/conditions.js';
import { proceed, rolloutRefOf, stopWith, type SetStep } from './set-run.js';

/**
 * Stops with `unchanged` when the desired digest is current, active and no switch is pending: a no-op tick
 * touches nothing else (no store request, no platform or bad-digest check). Never throws.
 */
export const stopIfCurrent: SetStep = {
  name: 'already-current',
  run(run) {
    const { current, state } = run;
    if (current?.digest !== run.ctx.set.closure || state.active !== current.number || state.pending) return Promise.resolve(proceed(run));
    return Promise.resolve(stopWith(run, { result: 'unchanged', reason: Reason.Succeeded, message: `generation ${current.number} is active`, stalled: false, rollout: rolloutRefOf(run) }));
  },
};
