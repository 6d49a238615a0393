import { GenerationError } from '../errors/index.js';
import type { ClosureRef } from '../store/closure-ref.js';
import { withBadMark } from './bad-digests.js';
import { NO_CRASH_POINTS, type CrashPoints } from './crash-points.js';
import { findGeneration, readGeneration, type Generation } from './generation.js';
import { currentTarget, setPaths, type SetPaths } from './layout.js';
import { withSetLock } from './set-lock.js';
import { readState, writeState, type SetState } from './state-file.js';
import { readCurrent, removeSymlink, replaceSymlink } from './symlink.js';

/**
 * Runs a generation's activation (the reconcile layer supplies it; the activation helper owns it).
 * Called under the set lock after `current` points at the generation, before the rollback is recorded
 * as done, so a crash during it is redone by recovery.
 */
export type ActivateHook = (generation: Generation) => Promise<void>;

/** Options of rollbackTo. */
export interface RollbackOptions {
  stateDir: string;
  set: string;
  /** An explicit target generation; default: the previously active one (see rollbackTo). */
  to?: number;
  /** Record the generation being left as bad, in the same state write that starts the rollback. */
  bad?: { reason: string; desiredDigest?: ClosureRef; desiredCommit?: string };
  activate?: ActivateHook;
  crash?: CrashPoints;
  now?: () => Date;
}

/** What a rollback did: the generation left, the new current (absent: `current` was removed). */
export interface RollbackResult {
  from?: number;
  generation?: Generation;
  currentUnset: boolean;
  markedBad?: ClosureRef;
}

async function pickTarget(paths: SetPaths, state: SetState, to: number | undefined): Promise<Generation | undefined> {
  if (to !== undefined) return findGeneration(paths, to);
  // A failed switch goes back to the last known good generation; with nothing pending (an operator
  // rollback) to the one that was active before it. Never blindly N-1.
  const target = state.pending || state.rollback ? state.active : state.previousActive;
  if (target === undefined && !state.pending) {
    throw new GenerationError(`set ${paths.set} has no previously active generation to roll back to`, { set: paths.set });
  }
  return target === undefined ? undefined : findGeneration(paths, target);
}

function nextActive(state: SetState, target: Generation | undefined): Pick<SetState, 'active' | 'previousActive'> {
  if (state.pending) return { ...(state.active !== undefined ? { active: state.active } : {}), ...(state.previousActive !== undefined ? { previousActive: state.previousActive } : {}) };
  const active = target?.number;
  const previousActive = state.active !== undefined && state.active !== active ? state.active : state.previousActive;
  return { ...(active !== undefined ? { active } : {}), ...(previousActive !== undefined ? { previousActive } : {}) };
}

/**
 * Switches `current` back (takes the set lock; re-entrant). Target: `to` if given; else, while a switch is
 * pending, the last known good (`active`) generation; else the previously active one. A first deployment
 * that fails (pending, nothing active) removes `current`: `currentUnset: true`, and state.active stays
 * unset. The rollback marker, the new `active` and the optional bad mark are written in one atomic state
 * write before the link moves; recovery completes an interrupted rollback. Throws GenerationError when
 * there is nothing to roll back to, NotFoundError for a missing `to`.
 */
export async function rollbackTo(options: RollbackOptions): Promise<RollbackResult> {
  const paths = setPaths(options.stateDir, options.set);
  const crash = options.crash ?? NO_CRASH_POINTS;
  const now = options.now ?? (() => new Date());
  return withSetLock(options.stateDir, options.set, async () => {
    const state = await readState(paths.stateFile);
    const cur = await readCurrent(paths.current);
    const target = await pickTarget(paths, state, options.to);
    const leaving = cur ? await readGeneration(paths, cur.dirName) : undefined;
    const { pending: _p, rollback: _r, active: _a, previousActive: _pa, ...rest } = state;
    let next: SetState = {
      ...rest,
      ...nextActive(state, target),
      rollback: { ...(cur ? { from: cur.number } : {}), ...(target ? { to: target.number } : {}), startedAt: now().toISOString() },
    };
    const badDigest = options.bad ? (state.pending?.digest ?? leaving?.digest) : undefined;
    if (options.bad && badDigest) next = withBadMark(next, { digest: badDigest, ...options.bad }, now());
    await writeState(paths.stateFile, next);
    crash.hit('rollback:after-mark');
    if (target) {
      await replaceSymlink(currentTarget(target.dirName), paths.current, crash, {
        afterTempLink: 'rollback:after-temp-link',
        afterRename: 'rollback:after-rename',
      });
      if (options.activate) await options.activate(target);
    } else {
      await removeSymlink(paths.current);
    }
    const { rollback: _done, ...finished } = next;
    await writeState(paths.stateFile, finished);
    crash.hit('rollback:after-write');
    return {
      ...(cur ? { from: cur.number } : {}),
      ...(target ? { generation: target } : {}),
      currentUnset: target === undefined,
      ...(badDigest ? { markedBad: badDigest } : {}),
    };
  });
}
