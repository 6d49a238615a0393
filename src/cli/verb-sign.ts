import { resolve } from 'node:path';
import type { Command } from './command.js';
import { stringOption } from './command.js';
import { closeAll, openStoreArg, requireOption } from '../packages/cli-args.js';
import { parseDigest } from '../store/digest.js';
import { signStoredManifest } from '../trust/manifest-publish.js';
import { loadSecretKey } from '../trust/publisher-key.js';

/** `flotilla sign DIGEST --store URL --key FILE`: adds a signature to a pushed manifest. */
export const command: Command = {
  name: 'sign',
  summary: 'add a signature to a pushed package (e.g. a release manager\'s)',
  usage: 'flotilla sign DIGEST --store URL --key FILE',
  positionals: { min: 1, max: 1 },
  options: {
    store: { type: 'string', value: 'URL', help: 'store URL' },
    key: { type: 'string', value: 'FILE', help: 'secret key file' },
  },
  async run(input, ctx) {
    const digest = parseDigest(input.positionals[0], 'DIGEST');
    const key = await loadSecretKey(resolve(ctx.cwd, requireOption(stringOption(input, 'key'), 'key')));
    const store = openStoreArg(requireOption(stringOption(input, 'store'), 'store'), ctx, true);
    try {
      await signStoredManifest(store, digest, key);
      return { exitCode: 0, text: `signed ${digest} as ${key.name}`, json: { ok: true, digest, key: key.name } };
    } finally {
      await closeAll([store]);
    }
  },
};
