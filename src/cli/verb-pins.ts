import type { Command } from './command.js';
import { stringOption } from './command.js';
import { closeAll, openStoreArg, requireOption } from '../packages/cli-args.js';
import { readPins } from '../packages/read-pins.js';

/** `flotilla pins --store URL`: lists pins as `NAME DIGEST`. */
export const command: Command = {
  name: 'pins',
  summary: 'list pins (GC roots)',
  usage: 'flotilla pins --store URL',
  options: { store: { type: 'string', value: 'URL', help: 'store URL' } },
  async run(input, ctx) {
    const store = openStoreArg(requireOption(stringOption(input, 'store'), 'store'), ctx);
    try {
      const pins = await readPins(store);
      return { exitCode: 0, text: pins.map((p) => `${p.name} ${p.digest}`).join('\n'), json: { pins } };
    } finally {
      await closeAll([store]);
    }
  },
};
