import { readPause } from '../../rollout/pause.js';
import { Reason } from '../../status/conditions.js';
import { noteHistory } from '../note-history.js';
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
    return held(run, Reason.Suspended, message);
  }
  const pause = coordination === null ? null : await runStep(run.ctx.timings, ports.log, 'pause', { set: set.name }, () => readPause(coordination, set.name));
  if (pause === null) {
    // Logged only when this machine had logged the set held (the port drops a resume that changes nothing).
    await noteHistory(run.ctx, { event: 'resume', from: run.current?.digest ?? null, to: set.closure, generation: run.current?.number ?? null, reason: Reason.Progressing, message: `set ${set.name} is no longer paused or suspended` });
    return proceed(run);
  }
  const message = `set ${set.name} is paused by ${pause.by} since ${pause.at}${pause.reason ? `: ${pause.reason}` : ''}; \`flotilla resume ${set.name}\` lifts it`;
  return held(run, Reason.Paused, message);
}

/** Stops the set as held, noting the pause in the deployment log (once: the port drops a repeat). */
async function held(run: SetRun, reason: typeof Reason.Paused | typeof Reason.Suspended, message: string): Promise<StepResult> {
  await noteHistory(run.ctx, { event: 'pause', from: run.current?.digest ?? null, to: run.ctx.set.closure, generation: run.current?.number ?? null, reason, message });
  return stopWith(run, { result: 'waiting', reason, message, stalled: false, rollout: rolloutRefOf(run) });
}

/** Before fetching: a paused set does not fetch. */
export const holdBeforeFetch: SetStep = { name: 'hold-before-fetch', run: holdIfPaused };

/** Right before the gate: a pause written during a long fetch still stops the switch before a slot is taken. */
export const holdBeforeGate: SetStep = { name: 'hold-before-gate', run: holdIfPaused };
