import { resolve } from 'node:path';
import type { Command } from './command.js';
import { stringList, stringOption } from './command.js';
import { closeAll, openStoreArg, parseKeyValues, requireOption } from '../packages/cli-args.js';
import { collectProvenance } from '../packages/provenance.js';
import { pushDirectory } from '../publish/push-directory.js';
import { loadSecretKey } from '../trust/publisher-key.js';
import { digestArg } from './digest-arg.js';

/** `flotilla push DIR --store URL …`: prints `sha256:<hex>` alone on stdout. */
export const command: Command = {
  name: 'push',
  summary: 'push a directory as a package; prints its sha256 digest',
  usage: 'flotilla push DIR --store URL [--name NAME] [--ref DIGEST]... [--sign-key FILE]... [--provenance KEY=VALUE]...',
  description: 'Uploads only the objects the store lacks, then the manifest, then one signature per --sign-key. Provenance comes from git (remote, commit, dirty) when DIR is in a work tree, from CI variables, and from --provenance.',
  positionals: { min: 1, max: 1 },
  options: {
    store: { type: 'string', value: 'URL', help: 'store URL (path, file://, s3://, http(s)://…?writable=1)' },
    name: { type: 'string', value: 'NAME', help: 'package name (default: the directory name)' },
    ref: { type: 'string', multiple: true, value: 'DIGEST', help: 'a package this one references (already pushed)' },
    'sign-key': { type: 'string', multiple: true, value: 'FILE', help: 'secret key file to sign with' },
    provenance: { type: 'string', multiple: true, value: 'KEY=VALUE', help: 'extra provenance' },
  },
  async run(input, ctx) {
    const dir = resolve(ctx.cwd, input.positionals[0] ?? '');
    const store = openStoreArg(requireOption(stringOption(input, 'store'), 'store'), ctx, true);
    try {
      const keys = await Promise.all(stringList(input, 'sign-key').map((f) => loadSecretKey(resolve(ctx.cwd, f))));
      const references = stringList(input, 'ref').map((r) => digestArg(r, '--ref'));
      const provenance = await collectProvenance(dir, ctx.env, parseKeyValues(stringList(input, 'provenance'), '--provenance'));
      const name = stringOption(input, 'name');
      const r = await pushDirectory(store, dir, { ...(name ? { name } : {}), references, signKeys: keys, provenance, signal: ctx.signal });
      return { exitCode: 0, text: r.digest, json: r };
    } finally {
      await closeAll([store]);
    }
  },
};
