import { recordDesired } from '../../generations/index.js';
import { proceed, type SetStep } from './set-run.js';

/**
 * Notes the desired digest in state.json (drops bad marks made under another desired digest). Always
 * continues; fails with the state dir's errors (lock, disk, a corrupt state file).
 */
export const recordDesiredDigest: SetStep = {
  name: 'record-desired',
  async run(run) {
    await recordDesired(run.ctx.stateDir, run.ctx.set.name, run.ctx.set.closure);
    return proceed(run);
  },
};
