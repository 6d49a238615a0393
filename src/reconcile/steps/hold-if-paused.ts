import { readPause } from '../../rollout/pause.js';
import { Reason } from '../../status/conditions.js';
import { runStep } from '../step.js';
import { proceed, rolloutRefOf, stopWith, type SetRun, type SetStep, type StepResult } from './set-run.js';

/**
 * Stops the set (waiting, not stalled) when it is suspended in the deploy repo (`suspended: true`) or paused
 * in the coordination store (`pauses/SET.json`): the machine keeps what it runs and switches to nothing.
 * A pause cannot be read without a coordination store, so a set without one is held only by `suspended`.
 * Fails with the store's errors: a pause that cannot be read is never taken for "not paused".
 */
async function holdIfPaused(run: SetRun): Promise<StepResult> {
  const { set, coordination, ports, commit } = run.ctx;
  if (set.suspended) {
    const message = `set ${set.name} is suspended in ${set.file} at commit ${commit.slice(0, 12)}: nothing switches until a signed commit removes \`suspended: true\``;
    return stopWith(run, { result: 'waiting', reason: Reason.Suspended, message, stalled: false, rollout: rolloutRefOf(run) });
  }
  if (coordination === null) return proceed(run);
  const pause = await runStep(run.ctx.timings, ports.log, 'pause', { set: set.name }, () => readPause(coordination, set.name));
  if (pause === null) return proceed(run);
  const message = `set ${set.name} is paused by ${pause.by} since ${pause.at}${pause.reason ? `: ${pause.reason}` : ''}; \`flotilla resume ${set.name}\` lifts it`;
  return stopWith(run, { result: 'waiting', reason: Reason.Paused, message, stalled: false, rollout: rolloutRefOf(run) });
}

/** Before fetching: a paused set does not fetch. */
export const holdBeforeFetch: SetStep = { name: 'hold-before-fetch', run: holdIfPaused };

/** Right before the gate: a pause written during a long fetch still stops the switch before a slot is taken. */
export const holdBeforeGate: SetStep = { name: 'hold-before-gate', run: holdIfPaused };
