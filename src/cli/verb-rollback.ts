import type { Command, CommandContext } from './command.js';
import { flag, stringOption } from './command.js';
import { UsageError } from '../errors/index.js';
import { runCommand } from '../activation/run-command.js';
import { recordedRunner } from '../reconcile/activation-runner.js';
import { requireSet, resolveStateDir, rollbackTo, type ActivateHook } from '../generations/index.js';

/**
 * What the rollback verb needs from the rest of the agent. `activate` runs the target generation's
 * activation under the set lock (the reconcile layer wires it in); without it the verb only moves
 * `current` and says that activation was not run.
 */
export interface RollbackDeps {
  activate?: (ctx: CommandContext, stateDir: string, set: string) => ActivateHook | undefined;
}

function parseTo(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(value)) throw new UsageError(`--to must be a generation number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Builds the verb with its dependencies; `command` below is the one in the table. */
export function createRollbackCommand(deps: RollbackDeps = {}): Command {
  return {
    name: 'rollback',
    summary: 'switch a set back to the previously active generation (or --to N)',
    usage: 'flotilla rollback SET [--to N] [--state DIR] [--json]',
    description: `Takes the set lock, so it never interleaves with an agent tick. The generation left is marked bad
for the desired digest (so the agent does not redeploy it) unless --keep-good is given; "flotilla clear SET" undoes that.`,
    options: {
      to: { type: 'string', value: 'N', help: 'roll back to generation N instead of the previously active one' },
      reason: { type: 'string', value: 'TEXT', help: 'reason recorded with the bad mark (default "operator rollback")' },
      'keep-good': { type: 'boolean', help: 'do not mark the generation left as bad' },
      state: { type: 'string', value: 'DIR', help: 'state dir (default $FLOTILLA_STATE_DIR or /var/lib/flotilla)' },
    },
    positionals: { min: 1, max: 1 },
    async run(input, ctx) {
      const set = input.positionals[0] ?? '';
      const to = parseTo(stringOption(input, 'to'));
      const paths = await requireSet(resolveStateDir(stringOption(input, 'state'), ctx.env), set, ctx.cwd);
      const activate = deps.activate?.(ctx, paths.stateDir, set);
      const r = await rollbackTo({
        stateDir: paths.stateDir,
        set,
        ...(to !== undefined ? { to } : {}),
        ...(flag(input, 'keep-good') ? {} : { bad: { reason: stringOption(input, 'reason') ?? 'operator rollback' } }),
        ...(activate ? { activate } : {}),
      });
      const where = r.generation ? `generation ${r.generation.number} (${r.generation.digest.slice(7, 19)})` : 'no generation (current unset)';
      const lines = [`set ${set}: current is now ${where}${r.from !== undefined ? `, was ${r.from}` : ''}`];
      if (r.markedBad) lines.push(`marked ${r.markedBad} bad; "flotilla clear ${set}" allows it again`);
      if (!activate) lines.push('activation was not run (no activation hook configured)');
      return {
        exitCode: 0,
        text: lines.join('\n'),
        json: { set, from: r.from ?? null, to: r.generation?.number ?? null, currentUnset: r.currentUnset, markedBad: r.markedBad ?? null, activated: activate !== undefined },
      };
    },
  };
}

/**
 * `flotilla rollback SET [--to N]`: re-runs the target generation's own recorded activation and health
 * check (origin.json), under the set lock, as the agent does when it rolls back.
 */
export const command: Command = createRollbackCommand({
  activate: (_ctx, _stateDir, set) => async (generation) => {
    const run = recordedRunner(set, generation, runCommand);
    await run.activate(generation, undefined);
    await run.health(generation, undefined);
  },
});
