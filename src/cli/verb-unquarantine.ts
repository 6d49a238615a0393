import type { Command } from './command.js';
import { stringOption } from './command.js';
import { closeAll, openStoreArg, requireOption } from '../packages/cli-args.js';
import { clearQuarantine, readQuarantine } from '../rollout/quarantine.js';
import { checkName } from '../store/keys.js';
import { digestArg } from './digest-arg.js';

/**
 * `flotilla unquarantine SET DIGEST --store URL`: an operator clears `quarantine/SET/HEX`, so the set's
 * rollout of DIGEST may resume. Clearing a digest that is not quarantined is not an error (exit 0).
 */
export const command: Command = {
  name: 'unquarantine',
  summary: 'clear the quarantine of a digest in a set so its rollout may resume',
  usage: 'flotilla unquarantine SET DIGEST --store URL [--json]',
  description: 'Machines that failed on DIGEST remember it locally; clear that with `flotilla clear` on them if they should retry.',
  options: {
    store: { type: 'string', value: 'URL', help: 'store URL (the one the agents coordinate through)' },
  },
  positionals: { min: 2, max: 2 },
  async run(input, ctx) {
    const set = checkName(input.positionals[0] ?? '', 'set name');
    const digest = digestArg(input.positionals[1], 'DIGEST');
    const store = openStoreArg(requireOption(stringOption(input, 'store'), 'store'), ctx, true);
    try {
      const record = await readQuarantine(store, set, digest);
      const cleared = await clearQuarantine(store, set, digest);
      const failures = record?.failures ?? [];
      const text = cleared
        ? `cleared the quarantine of ${digest} in set ${set} (failed on: ${failures.map((f) => `${f.machine} ${f.reason}`).join(', ') || 'unknown'})`
        : `${digest} is not quarantined in set ${set}; nothing to do`;
      return { exitCode: 0, text, json: { ok: true, set, digest, cleared, failures } };
    } finally {
      await closeAll([store]);
    }
  },
};
