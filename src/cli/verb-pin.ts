import type { Command } from './command.js';
import { stringOption } from './command.js';
import { closeAll, openStoreArg, requireOption } from '../packages/cli-args.js';
import { objectKey, pinKey } from '../store/keys.js';
import { NotFoundError } from '../errors/index.js';
import { digestArg } from './digest-arg.js';

/** `flotilla pin NAME DIGEST --store URL`: a GC root. */
export const command: Command = {
  name: 'pin',
  summary: 'pin a package closure so store GC never collects it (a release)',
  usage: 'flotilla pin NAME DIGEST --store URL',
  positionals: { min: 2, max: 2 },
  options: { store: { type: 'string', value: 'URL', help: 'store URL' } },
  async run(input, ctx) {
    const name = input.positionals[0] ?? '';
    const digest = digestArg(input.positionals[1], 'DIGEST');
    const key = pinKey(name);
    const store = openStoreArg(requireOption(stringOption(input, 'store'), 'store'), ctx, true);
    try {
      try {
        await store.head(objectKey(digest));
      } catch (err) {
        if (store.isNotFound(err)) throw new NotFoundError(`manifest ${digest} is not in ${store.url}; push it before pinning`, { object: digest });
        throw err;
      }
      await store.put(key, Buffer.from(`${digest}\n`));
      return { exitCode: 0, text: `pinned ${name} -> ${digest}`, json: { ok: true, name, digest } };
    } finally {
      await closeAll([store]);
    }
  },
};
