import type { Command } from './command.js';
import { stringOption } from './command.js';
import { closeAll, openStoreArg, requireOption } from '../packages/cli-args.js';
import { pinKey } from '../store/keys.js';

/** `flotilla unpin NAME --store URL`: removes a GC root (removing a missing pin is not an error). */
export const command: Command = {
  name: 'unpin',
  summary: 'remove a pin',
  usage: 'flotilla unpin NAME --store URL',
  positionals: { min: 1, max: 1 },
  options: { store: { type: 'string', value: 'URL', help: 'store URL' } },
  async run(input, ctx) {
    const name = input.positionals[0] ?? '';
    const key = pinKey(name);
    const store = openStoreArg(requireOption(stringOption(input, 'store'), 'store'), ctx, true);
    try {
      await store.delete(key);
      return { exitCode: 0, text: `unpinned ${name}`, json: { ok: true, name } };
    } finally {
      await closeAll([store]);
    }
  },
};
