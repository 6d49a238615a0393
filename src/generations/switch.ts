import { GenerationError } from '../errors/index.js';
import { NO_CRASH_POINTS, type CrashPoints } from './crash-points.js';
import { findGeneration, readGeneration, type Generation } from './generation.js';
import { currentTarget, setPaths } from './layout.js';
import { withSetLock } from './set-lock.js';
import { readState, writeState, type PendingPhase, type SetState } from './state-file.js';
import { readCurrent, replaceSymlink } from './symlink.js';

/** Ports for switch and commit: a crash-point hook (tests) and a clock. */
export interface SwitchPorts {
  crash?: CrashPoints;
  now?: () => Date;
}

/** What a switch did: the generation `current` left (absent on a first deployment) and the new one. */
export interface SwitchResult {
  from?: number;
  generation: Generation;
}

function refusePending(state: SetState, set: string, file: string): void {
  if (state.pending || state.rollback) {
    const what = state.pending ? `a switch to generation ${state.pending.to}` : 'a rollback';
    throw new GenerationError(`set ${set}: ${what} is still pending in ${file}; run recovery first`, { set, file });
  }
}

/**
 * Makes generation `to` the set's `current` (takes the set lock; re-entrant). Writes the pending marker
 * to state.json (fsynced) BEFORE the swap, then a symlink to a unique temp name renamed over `current`
 * and an fsync of the directory: a crash leaves the old or the new generation and a marker that says
 * which switch was under way. Throws NotFoundError when the generation does not exist, GenerationError
 * when another switch or rollback is still pending (recover first).
 */
export async function switchGeneration(stateDir: string, set: string, to: number, ports: SwitchPorts = {}): Promise<SwitchResult> {
  const paths = setPaths(stateDir, set);
  const crash = ports.crash ?? NO_CRASH_POINTS;
  return withSetLock(stateDir, set, async () => {
    const state = await readState(paths.stateFile);
    refusePending(state, set, paths.stateFile);
    const generation = await findGeneration(paths, to);
    const cur = await readCurrent(paths.current);
    const startedAt = (ports.now ?? (() => new Date()))().toISOString();
    await writeState(paths.stateFile, {
      ...state,
      pending: { ...(cur ? { from: cur.number } : {}), to, digest: generation.digest, startedAt, phase: 'switched' },
    });
    crash.hit('switch:after-pending');
    await replaceSymlink(currentTarget(generation.dirName), paths.current, crash, {
      afterTempLink: 'switch:after-temp-link',
      afterRename: 'switch:after-rename',
    });
    crash.hit('switch:after-fsync');
    return { ...(cur ? { from: cur.number } : {}), generation };
  });
}

/**
 * Records how far the pending switch has got (`activating`, `health`), so recovery can tell the caller.
 * GenerationError when no switch is pending.
 */
export async function setPendingPhase(stateDir: string, set: string, phase: PendingPhase, ports: SwitchPorts = {}): Promise<void> {
  const paths = setPaths(stateDir, set);
  await withSetLock(stateDir, set, async () => {
    const state = await readState(paths.stateFile);
    if (!state.pending) throw new GenerationError(`set ${set}: no switch is pending in ${paths.stateFile}`, { set, file: paths.stateFile });
    await writeState(paths.stateFile, { ...state, pending: { ...state.pending, phase } });
    (ports.crash ?? NO_CRASH_POINTS).hit('phase:after-write');
  });
}

/**
 * Commits the pending switch once activation and health passed: clears `pending`, makes its target the
 * `active` generation (the old active becomes `previousActive`) and forgets any bad mark of its digest.
 * One atomic state write. GenerationError when nothing is pending or `current` is not the pending target.
 */
export async function commitSwitch(stateDir: string, set: string, ports: SwitchPorts = {}): Promise<Generation> {
  const paths = setPaths(stateDir, set);
  const crash = ports.crash ?? NO_CRASH_POINTS;
  return withSetLock(stateDir, set, async () => {
    const state = await readState(paths.stateFile);
    const p = state.pending;
    if (!p) throw new GenerationError(`set ${set}: no switch is pending in ${paths.stateFile}`, { set, file: paths.stateFile });
    const cur = await readCurrent(paths.current);
    if (cur?.number !== p.to) {
      throw new GenerationError(`set ${set}: current is ${cur ? `generation ${cur.number}` : 'unset'}, not the pending generation ${p.to}`, { set });
    }
    const generation = await readGeneration(paths, cur.dirName);
    const { [p.digest]: _passed, ...bad } = state.bad;
    const { pending: _done, ...rest } = state;
    const previousActive = state.active !== undefined && state.active !== p.to ? state.active : state.previousActive;
    crash.hit('commit:before-write');
    await writeState(paths.stateFile, { ...rest, active: p.to, ...(previousActive !== undefined ? { previousActive } : {}), bad });
    crash.hit('commit:after-write');
    return generation;
  });
}
