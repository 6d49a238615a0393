import type { Command } from './command.js';
import { flag, stringOption } from './command.js';
import { closeAll, openStoreArg, parseDuration, requireOption } from '../packages/cli-args.js';
import { gcStore } from '../packages/gc-store.js';

/** `flotilla gc --store URL [--older-than DURATION] [--dry-run]`: store GC (see gc-store.ts). */
export const command: Command = {
  name: 'gc',
  summary: 'delete store objects unreachable from pins and promoted closures',
  usage: 'flotilla gc --store URL [--older-than DURATION] [--dry-run] [--json]',
  description: 'Nothing younger than --older-than (default 24h) is deleted, so a push in flight is safe.',
  options: {
    store: { type: 'string', value: 'URL', help: 'store URL' },
    'older-than': { type: 'string', value: 'DURATION', help: 'grace period, e.g. 24h, 7d (default 24h)' },
    'dry-run': { type: 'boolean', help: 'list what would be deleted, delete nothing' },
  },
  async run(input, ctx) {
    const olderThanMs = parseDuration(stringOption(input, 'older-than') ?? '24h', '--older-than');
    const store = openStoreArg(requireOption(stringOption(input, 'store'), 'store'), ctx.cwd, true);
    try {
      const r = await gcStore(store, { olderThanMs, dryRun: flag(input, 'dry-run') });
      const verb = r.dryRun ? 'would delete' : 'deleted';
      const text = [...r.deleted.map((k) => `${verb} ${k}`), `${r.roots.length} root(s), ${r.reachableObjects} reachable object(s); ${verb} ${r.deleted.length} key(s), ${r.deletedBytes} bytes; kept ${r.keptYoung} young unreachable key(s)`].join('\n');
      return { exitCode: 0, text, json: r };
    } finally {
      await closeAll([store]);
    }
  },
};
