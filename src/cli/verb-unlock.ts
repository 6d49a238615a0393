import type { Command } from './command.js';
import { stringOption } from './command.js';
import { closeAll, openStoreArg, requireOption } from '../packages/cli-args.js';
import { unlockMachine } from '../rollout/lease-admin.js';
import { checkName } from '../store/keys.js';

/**
 * `flotilla unlock SET --machine M --store URL [--rollout ID]`: an operator releases the slot lease(s)
 * machine M holds in SET (e.g. a failed machine that keeps its slot), by compare-and-swap to a released
 * tombstone. If M's agent is still alive, its next renew fails and it aborts. Nothing held is exit 0 too.
 */
export const command: Command = {
  name: 'unlock',
  summary: "release a machine's rollout slot lease in a set",
  usage: 'flotilla unlock SET --machine M --store URL [--rollout ID] [--json]',
  options: {
    machine: { type: 'string', value: 'M', help: 'the machine whose slot to release' },
    store: { type: 'string', value: 'URL', help: 'store URL (the one the agents coordinate through)' },
    rollout: { type: 'string', value: 'ID', help: 'only this rollout id (default: every rollout of the set)' },
  },
  positionals: { min: 1, max: 1 },
  async run(input, ctx) {
    const set = checkName(input.positionals[0] ?? '', 'set name');
    const machine = checkName(requireOption(stringOption(input, 'machine'), 'machine'), 'machine name');
    const rolloutArg = stringOption(input, 'rollout');
    const rollout = rolloutArg === undefined ? undefined : checkName(rolloutArg, 'rollout id');
    const store = openStoreArg(requireOption(stringOption(input, 'store'), 'store'), ctx, true);
    try {
      const released = await unlockMachine(store, set, machine, { ...(rollout === undefined ? {} : { rollout }), by: `operator (flotilla unlock)` });
      const text = released.length > 0 ? released.map((k) => `released ${k}`).join('\n') : `${machine} holds no slot in set ${set}; nothing to do`;
      return { exitCode: 0, text, json: { ok: true, set, machine, released } };
    } finally {
      await closeAll([store]);
    }
  },
};
