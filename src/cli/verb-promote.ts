import { resolve } from 'node:path';
import type { Command } from './command.js';
import { flag, stringOption } from './command.js';
import { closeAll, openStoreArg, requireOption } from '../packages/cli-args.js';
import { promoteManifest } from '../trust/manifest-publish.js';
import { loadSecretKey } from '../trust/publisher-key.js';
import { digestArg } from './digest-arg.js';

/** `flotilla promote DIGEST --store URL --key FILE [--revoke]`: the signed deployable flag. */
export const command: Command = {
  name: 'promote',
  summary: 'mark a package deployable (signed flag in the store), or revoke that',
  usage: 'flotilla promote DIGEST --store URL --key FILE [--revoke]',
  positionals: { min: 1, max: 1 },
  options: {
    store: { type: 'string', value: 'URL', help: 'store URL' },
    key: { type: 'string', value: 'FILE', help: 'promoter secret key file' },
    revoke: { type: 'boolean', help: 'write a signed revocation instead' },
  },
  async run(input, ctx) {
    const digest = digestArg(input.positionals[0], 'DIGEST');
    const key = await loadSecretKey(resolve(ctx.cwd, requireOption(stringOption(input, 'key'), 'key')));
    const store = openStoreArg(requireOption(stringOption(input, 'store'), 'store'), ctx, true);
    const revoke = flag(input, 'revoke');
    try {
      await promoteManifest(store, digest, key, { revoke });
      const state = revoke ? 'revoked' : 'promoted';
      return { exitCode: 0, text: `${digest} ${state} by ${key.name}`, json: { ok: true, digest, state, key: key.name } };
    } finally {
      await closeAll([store]);
    }
  },
};
