import type { Command } from './command.js';
import { stringOption } from './command.js';
import { clearBad, requireSet, resolveStateDir } from '../generations/index.js';
import { digestArg } from './digest-arg.js';

/** `flotilla clear SET [--digest D]`: forgets bad digests so the agent may try them again. */
export const command: Command = {
  name: 'clear',
  summary: 'forget the bad digests of a set (all, or one with --digest) so the agent retries them',
  usage: 'flotilla clear SET [--digest D] [--state DIR] [--json]',
  options: {
    digest: { type: 'string', value: 'D', help: 'clear only this sha256 digest' },
    state: { type: 'string', value: 'DIR', help: 'state dir (default $FLOTILLA_STATE_DIR or /var/lib/flotilla)' },
  },
  positionals: { min: 1, max: 1 },
  async run(input, ctx) {
    const set = input.positionals[0] ?? '';
    const d = stringOption(input, 'digest');
    const digest = d === undefined ? undefined : digestArg(d, '--digest');
    const paths = await requireSet(resolveStateDir(stringOption(input, 'state'), ctx.env), set, ctx.cwd);
    const cleared = await clearBad(paths.stateDir, set, digest);
    const text = cleared.length === 0 ? `set ${set}: nothing to clear` : cleared.map((c) => `cleared ${c}`).join('\n');
    return { exitCode: 0, text, json: { set, cleared } };
  },
};
