import { hostname, userInfo } from 'node:os';
import { closeAll } from '../packages/cli-args.js';
import { writePause } from '../rollout/pause.js';
import { stringOption, type Command } from './command.js';
import { openPauseTarget, PAUSE_TARGET_OPTIONS } from './pause-target.js';

/** Who pauses when --by is not given: user@host, as a person would sign a note. */
function defaultBy(env: NodeJS.ProcessEnv): string {
  let user = env['USER'] ?? env['LOGNAME'];
  try {
    user ??= userInfo().username;
  } catch {
    user ??= 'unknown';
  }
  return `${user}@${hostname()}`;
}

/** `flotilla pause SET`: writes `pauses/SET.json` so no machine of the set switches until `flotilla resume SET`. */
export const command: Command = {
  name: 'pause',
  summary: 'stop a set\'s rollouts now, without a commit: no machine of SET switches until resume',
  usage: 'flotilla pause SET [--repo DIR|URL] [--store URL] [--by WHO] [--reason TEXT] [--json]',
  description: `Writes the marker pauses/SET.json in the store (who, when, why). Every machine of the set reads it
before it fetches and again before it takes a rollout slot: a paused set keeps running what it runs, a
switch already under way finishes (and still rolls back if it fails), nothing new starts. Machines report
Waiting with reason Paused; \`flotilla status\` shows who paused the set and when. Pausing a paused set
keeps the first marker (exit 0, says who holds it). For a pause that goes through review, commit
\`suspended: true\` in sets/SET.yaml instead.`,
  options: {
    ...PAUSE_TARGET_OPTIONS,
    by: { type: 'string', value: 'WHO', help: 'who pauses, for the record (default: user@host)' },
    reason: { type: 'string', value: 'TEXT', help: 'why, for the record (shown by status and by each machine)' },
  },
  positionals: { min: 1, max: 1 },
  async run(input, ctx) {
    const { set, store } = await openPauseTarget(input, ctx, 'pause');
    try {
      const by = stringOption(input, 'by') ?? defaultBy(ctx.env);
      const { created, record } = await writePause(store, set, by, stringOption(input, 'reason') ?? '', new Date());
      const text = created
        ? `paused set ${set} in ${store.url}: no machine switches until \`flotilla resume ${set}\``
        : `set ${set} was already paused by ${record.by} since ${record.at}${record.reason ? ` (${record.reason})` : ''}; kept that pause`;
      return { exitCode: 0, text, json: { ok: true, set, store: store.url, created, pause: record } };
    } finally {
      await closeAll([store]);
    }
  },
};
