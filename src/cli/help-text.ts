import type { Command, OptionSpec } from './command.js';
import { COMMANDS } from './commands.js';

/** Options every verb takes. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  json: { type: 'boolean', help: 'print {"ok","kind","data","error"} envelopes on stdout, one per line (docs/cli-json.md)' },
  debug: { type: 'boolean', help: 'print stack traces and debug logs' },
};

/** `flotilla --help`: every verb of the COMMANDS table with its summary. */
export function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const verbs = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
  return [
    'flotilla: verified, atomic deploys across a fleet, driven by a signed git repo and an object store',
    '',
    'usage: flotilla <command> [options]',
    '',
    'commands:',
    verbs,
    '',
    'Every command takes --help and --json ("flotilla help COMMAND" shows the same help); --version prints the',
    'version. Exit codes: 0 ok, 1 failure, 2 usage error, 3 waiting, 130 and 143 when SIGINT or SIGTERM cut a',
    'command short (store requests are aborted at once), 141 when the reader of stdout went away.',
  ].join('\n');
}

/** Renders a verb's --help from its specification. */
export function commandHelp(cmd: Command): string {
  const all = { ...cmd.options, ...COMMON_OPTIONS };
  const rows = Object.entries(all).map(([name, o]) => {
    const left = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}${o.multiple ? ' (repeatable)' : ''}`;
    return [left, o.help] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length));
  const lines = [`usage: ${cmd.usage}`, '', cmd.summary];
  if (cmd.description) lines.push('', cmd.description.trim());
  lines.push('', 'options:', ...rows.map(([l, h]) => `  ${l.padEnd(width)}  ${h}`));
  return lines.join('\n');
}

/** A verb's help as data: `help VERB --json` and `VERB --help --json`. */
export function helpDocument(cmd: Command): { name: string; summary: string; usage: string; description: string | null; options: Record<string, OptionSpec> } {
  return { name: cmd.name, summary: cmd.summary, usage: cmd.usage, description: cmd.description?.trim() ?? null, options: { ...cmd.options, ...COMMON_OPTIONS } };
}
