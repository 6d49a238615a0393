import { stopIfCurrent } from './already-current.js';
import { announceRolloutStart } from './announce-start.js';
import { switchAndProve } from './apply.js';
import { checkPlatform } from './check-platform.js';
import { fetchAndStageClosure } from './fetch-and-stage.js';
import { passRolloutGate } from './gate.js';
import { holdBeforeFetch, holdBeforeGate } from './hold-if-paused.js';
import { recordDesiredDigest } from './record-desired.js';
import { refuseRememberedBad } from './refuse-remembered-bad.js';
import type { SetStep } from './set-run.js';
import { stagedOrFetchTurn } from './staged-or-turn.js';

export { proceed, required, rolloutRefOf, stopWith, outcomeBase, type Granted, type SetRun, type SetStep, type StepResult } from './set-run.js';

/**
 * The reconcile of one set, in order (DESIGN §1). Each step reads the run, then continues or stops the set
 * with its outcome; the last one always stops. Insert a step by adding it here: e.g. a check right before
 * `apply` sees the staged `generation` and the gate's `granted` lease.
 */
export const SET_STEPS: readonly SetStep[] = [
  stopIfCurrent, // desired digest current, active, nothing pending → unchanged
  checkPlatform, // another platform → refused
  recordDesiredDigest, // note the desired digest (drops stale bad marks)
  refuseRememberedBad, // failed here before under this desired digest → stalled
  holdBeforeFetch, // suspended in the repo or paused in the store → waiting (fetches nothing)
  stagedOrFetchTurn, // staged by an earlier tick, or wait for this machine's turn to fetch
  fetchAndStageClosure, // verify, fetch, stage
  holdBeforeGate, // paused during the fetch → waiting, before a slot is taken
  passRolloutGate, // batches, pause, windows, dependencies, quarantine, slot
  announceRolloutStart, // a first-batch slot: rollout-started into the outbox (delivered off the tick)
  switchAndProve, // switch, activate, health (roll back on failure), release the slot
];
