import { closeAll } from '../packages/cli-args.js';
import { clearPause } from '../rollout/pause.js';
import type { Command } from './command.js';
import { openPauseTarget, PAUSE_TARGET_OPTIONS } from './pause-target.js';

/** `flotilla resume SET`: removes `pauses/SET.json`; the set's machines go on at their next tick. */
export const command: Command = {
  name: 'resume',
  summary: 'lift a pause: the machines of SET go on with their rollout at their next tick',
  usage: 'flotilla resume SET [--repo DIR|URL] [--store URL] [--json]',
  description: `Deletes the marker pauses/SET.json that \`flotilla pause\` wrote. Resuming a set that is not paused
is not an error (exit 0). It does not lift \`suspended: true\` in the deploy repo: that takes a commit.
Use \`flotilla agent reconcile\` on a machine (or the webhook) to go on before the next poll.`,
  options: { ...PAUSE_TARGET_OPTIONS },
  positionals: { min: 1, max: 1 },
  async run(input, ctx) {
    const { set, store } = await openPauseTarget(input, ctx, 'resume');
    try {
      const was = await clearPause(store, set);
      const text = was === null ? `set ${set} is not paused in ${store.url}; nothing to do` : `resumed set ${set} (paused by ${was.by} since ${was.at})`;
      return { exitCode: 0, text, json: { ok: true, set, store: store.url, resumed: was !== null, pause: was } };
    } finally {
      await closeAll([store]);
    }
  },
};
