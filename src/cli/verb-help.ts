import type { Command } from './command.js';
import { COMMANDS } from './commands.js';
import { commandHelp, helpDocument, topHelp } from './help-text.js';
import { unknownVerbError } from './suggest.js';

/** `flotilla help [COMMAND]`: the list of commands, or one command's --help. */
export const command: Command = {
  name: 'help',
  summary: 'show the list of commands, or the help of one (same as COMMAND --help)',
  usage: 'flotilla help [COMMAND [SUBCOMMAND]] [--json]',
  description: 'With --json, prints the commands with their summaries, or one command\'s usage, description and options.',
  positionals: { min: 0, max: 2 },
  options: {},
  async run(input) {
    const name = input.positionals.length === 0 ? undefined : input.positionals.join(' ');
    if (name === undefined) return { exitCode: 0, text: topHelp(), json: { commands: COMMANDS.map((c) => ({ name: c.name, summary: c.summary })) } };
    const entry = COMMANDS.find((c) => c.name === name);
    if (entry === undefined) throw unknownVerbError(name);
    const cmd = await entry.load();
    return { exitCode: 0, text: commandHelp(cmd), json: helpDocument(cmd) };
  },
};
