import { GenerationError, NotFoundError } from '../errors/index.js';
import { findGeneration, type Generation } from './generation.js';
import { currentTarget, setPaths, type SetPaths } from './layout.js';
import { withSetLock } from './set-lock.js';
import { cleanStaleTemps } from './stale-temps.js';
import { readState, writeState, type PendingSwitch, type SetState } from './state-file.js';
import { readCurrent, removeSymlink, replaceSymlink, type CurrentLink } from './symlink.js';

/**
 * What startup recovery found and did. After it returns, `current` and state.json agree and no `.tmp-`
 * leftovers remain.
 * - `none`: nothing was pending. `adopted` when state knew no active generation but `current` existed
 *   (e.g. state.json was removed by hand): the disk is trusted and recorded as active.
 * - `finish`: a switch was pending and `current` already points at its target. Nothing was changed: the
 *   caller re-runs activation and health, then calls commitSwitch or rollbackTo.
 * - `undo`: the switch never took effect, or a rollback was interrupted, or `current` disagreed with the
 *   state. `current` now points at `generation` (absent: unset) and the marker is cleared.
 *   `needsActivation`: the caller must (re-)run that generation's activation, because the process that
 *   crashed may have activated something else meanwhile.
 */
export type RecoveryResult =
  | { action: 'none'; generation?: Generation; adopted: boolean; cleaned: string[] }
  | { action: 'finish'; pending: PendingSwitch; generation: Generation; cleaned: string[] }
  | { action: 'undo'; pending?: PendingSwitch; generation?: Generation; needsActivation: boolean; cleaned: string[] };

async function pointCurrentAt(paths: SetPaths, cur: CurrentLink | 'garbage' | undefined, n: number | undefined): Promise<Generation | undefined> {
  if (n === undefined) {
    if (cur !== undefined) await removeSymlink(paths.current);
    return undefined;
  }
  const g = await findGeneration(paths, n);
  if (cur === 'garbage' || cur?.number !== n) await replaceSymlink(currentTarget(g.dirName), paths.current);
  return g;
}

async function readCurrentLoose(paths: SetPaths): Promise<CurrentLink | 'garbage' | undefined> {
  try {
    return await readCurrent(paths.current);
  } catch (err) {
    if (err instanceof GenerationError) return 'garbage';
    throw err;
  }
}

function without(state: SetState, key: 'pending' | 'rollback'): SetState {
  const { [key]: _gone, ...rest } = state;
  return rest;
}

async function tryFind(paths: SetPaths, n: number): Promise<Generation | undefined> {
  try {
    return await findGeneration(paths, n);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/**
 * Startup recovery for one set, under the set lock: removes stale temp names, then reconciles state.json
 * with `current` after a crash at any step of stage, switch, commit or rollback (see RecoveryResult).
 * Throws GenerationError when state.json is corrupt, NotFoundError when it names a generation whose
 * directory no longer exists (removed by hand).
 */
export async function recoverPending(stateDir: string, set: string): Promise<RecoveryResult> {
  const paths = setPaths(stateDir, set);
  return withSetLock(stateDir, set, async () => {
    const cleaned = await cleanStaleTemps(paths);
    const state = await readState(paths.stateFile);
    const cur = await readCurrentLoose(paths);
    if (state.rollback) {
      const generation = await pointCurrentAt(paths, cur, state.rollback.to);
      await writeState(paths.stateFile, without(state, 'rollback'));
      return { action: 'undo', ...(generation ? { generation } : {}), needsActivation: generation !== undefined, cleaned };
    }
    const p = state.pending;
    if (p) {
      const target = cur !== 'garbage' && cur?.number === p.to ? await tryFind(paths, p.to) : undefined;
      if (target) return { action: 'finish', pending: p, generation: target, cleaned };
      // `current` never moved to the target (crash before the rename): put back what was there.
      const generation = await pointCurrentAt(paths, cur, p.from);
      await writeState(paths.stateFile, without(state, 'pending'));
      return { action: 'undo', pending: p, ...(generation ? { generation } : {}), needsActivation: false, cleaned };
    }
    if (cur !== 'garbage' && cur?.number === state.active) {
      const generation = cur ? await findGeneration(paths, cur.number) : undefined;
      return { action: 'none', ...(generation ? { generation } : {}), adopted: false, cleaned };
    }
    if (state.active === undefined && cur !== 'garbage' && cur !== undefined) {
      const generation = await findGeneration(paths, cur.number);
      await writeState(paths.stateFile, { ...state, active: cur.number });
      return { action: 'none', generation, adopted: true, cleaned };
    }
    // No marker, yet `current` is not the active generation: every change of ours writes state first,
    // so the state is the truth; put `current` back and have the caller re-activate it.
    const generation = await pointCurrentAt(paths, cur, state.active);
    return { action: 'undo', ...(generation ? { generation } : {}), needsActivation: generation !== undefined, cleaned };
  });
}
