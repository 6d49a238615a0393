import { parseClosureRef, type ClosureRef } from '../store/closure-ref.js';
import { setPaths } from './layout.js';
import { withSetLock } from './set-lock.js';
import { readState, writeState, type SetState } from './state-file.js';

/** A failure to record against a closure digest. */
export interface BadMark {
  digest: ClosureRef;
  reason: string;
  /** The desired digest in force when it failed (default: the state's lastDesired, else `digest`). */
  desiredDigest?: ClosureRef;
  desiredCommit?: string;
}

/**
 * Pure: the state with `mark` recorded. A repeat failure under the same desired digest counts one more
 * attempt; under a new desired digest the count starts again.
 */
export function withBadMark(state: SetState, mark: BadMark, at: Date): SetState {
  const desiredDigest = mark.desiredDigest ?? state.lastDesired ?? mark.digest;
  const prev = state.bad[mark.digest];
  const attempts = prev && prev.desiredDigest === desiredDigest ? prev.attempts + 1 : 1;
  return {
    ...state,
    bad: {
      ...state.bad,
      [mark.digest]: {
        reason: mark.reason,
        attempts,
        at: at.toISOString(),
        desiredDigest,
        ...(mark.desiredCommit !== undefined ? { desiredCommit: mark.desiredCommit } : {}),
      },
    },
  };
}

/**
 * Pure: true when `digest` failed while `desiredDigest` was desired. A bad digest is never retried until
 * the desired digest changes (see withDesired) or an operator clears it.
 */
export function isBadIn(state: SetState, digest: ClosureRef, desiredDigest: ClosureRef): boolean {
  return state.bad[digest]?.desiredDigest === desiredDigest;
}

/**
 * Pure: the state after the deploy repo named `desired` for this set. When it differs from lastDesired,
 * bad marks recorded under another desired digest are dropped: the desired digest changed, so they may
 * be retried (even if the repo later names that same digest again).
 */
export function withDesired(state: SetState, desired: ClosureRef): SetState {
  if (state.lastDesired === desired) return state;
  const bad = Object.fromEntries(Object.entries(state.bad).filter(([, e]) => e.desiredDigest === desired));
  return { ...state, lastDesired: desired, bad };
}

/** Records a failed digest for `set` (takes the set lock). InvalidDigestError on a malformed digest. */
export async function markBad(stateDir: string, set: string, mark: BadMark, now: () => Date = () => new Date()): Promise<void> {
  parseClosureRef(mark.digest, 'bad digest');
  const paths = setPaths(stateDir, set);
  await withSetLock(stateDir, set, async () => {
    await writeState(paths.stateFile, withBadMark(await readState(paths.stateFile), mark, now()));
  });
}

/** True when `digest` is bad for `set` under `desiredDigest`. GenerationError on a corrupt state file. */
export async function isBad(stateDir: string, set: string, digest: ClosureRef, desiredDigest: ClosureRef): Promise<boolean> {
  return isBadIn(await readState(setPaths(stateDir, set).stateFile), digest, desiredDigest);
}

/**
 * Notes the desired digest the deploy repo names for `set` (call once per tick); writes only when it
 * changed, dropping bad marks that no longer apply. Takes the set lock.
 */
export async function recordDesired(stateDir: string, set: string, desired: ClosureRef): Promise<void> {
  parseClosureRef(desired, 'desired digest');
  const paths = setPaths(stateDir, set);
  await withSetLock(stateDir, set, async () => {
    const state = await readState(paths.stateFile);
    const next = withDesired(state, desired);
    if (next !== state) await writeState(paths.stateFile, next);
  });
}

/**
 * Operator action: forgets the bad mark of `digest`, or every bad mark when `digest` is omitted.
 * Returns the digests cleared (empty when there was nothing to clear; then nothing is written).
 */
export async function clearBad(stateDir: string, set: string, digest?: ClosureRef): Promise<ClosureRef[]> {
  if (digest !== undefined) parseClosureRef(digest, '--digest');
  const paths = setPaths(stateDir, set);
  return withSetLock(stateDir, set, async () => {
    const state = await readState(paths.stateFile);
    const cleared = Object.keys(state.bad).filter((d) => digest === undefined || d === digest) as ClosureRef[];
    if (cleared.length === 0) return [];
    const bad = Object.fromEntries(Object.entries(state.bad).filter(([d]) => !cleared.includes(d as ClosureRef)));
    await writeState(paths.stateFile, { ...state, bad });
    return cleared;
  });
}
