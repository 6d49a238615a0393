import { resolve } from 'node:path';
import type { Command } from './command.js';
import { flag, stringOption } from './command.js';
import { closeAll, openStoreArg, requireOption } from '../packages/cli-args.js';
import { signStoredManifest } from '../trust/manifest-publish.js';
import { loadSecretKey } from '../trust/publisher-key.js';
import { digestArg } from './digest-arg.js';

/** `flotilla sign DIGEST --store URL --key FILE`: adds a signature to a pushed manifest. */
export const command: Command = {
  name: 'sign',
  summary: 'add a signature to a pushed package (e.g. a release manager\'s)',
  usage: 'flotilla sign DIGEST --store URL --key FILE [--replace]',
  description: `Adds the signature of the secret key in FILE (flotilla keygen's NAME.secret, not its .pub) to a
pushed manifest. Signing never removes a signature that may verify: when this key already signed, nothing
changes; when a different key of the same name signed, sign refuses unless --replace (a rotated key).`,
  positionals: { min: 1, max: 1 },
  options: {
    store: { type: 'string', value: 'URL', help: 'store URL' },
    key: { type: 'string', value: 'FILE', help: 'secret key file (NAME.secret from flotilla keygen)' },
    replace: { type: 'boolean', help: 'replace a signature by another key of the same name (key rotation)' },
  },
  async run(input, ctx) {
    const digest = digestArg(input.positionals[0], 'DIGEST');
    const key = await loadSecretKey(resolve(ctx.cwd, requireOption(stringOption(input, 'key'), 'key')));
    const store = openStoreArg(requireOption(stringOption(input, 'store'), 'store'), ctx, true);
    try {
      const outcome = await signStoredManifest(store, digest, key, { replace: flag(input, 'replace') });
      const text = {
        added: `signed ${digest} as ${key.name}`,
        unchanged: `${digest} already carries a valid signature by ${key.name}; nothing changed`,
        replaced: `signed ${digest} as ${key.name}, replacing the earlier ${key.name} signature`,
      }[outcome];
      return { exitCode: 0, text, json: { ok: true, digest, key: key.name, outcome } };
    } finally {
      await closeAll([store]);
    }
  },
};
