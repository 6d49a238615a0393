import { UsageError } from '../errors/index.js';
import type { Command } from './command.js';
import { COMMANDS } from './commands.js';
import { completionScript, SHELLS, type CompletionVerb, type Shell } from './completion-scripts.js';

// Two-word verbs (`agent status`) are completed as their first word with the second as its first argument:
// every shell's script dispatches on one word.
const firstWords = [...new Set(COMMANDS.map((c) => c.name.split(' ')[0] ?? c.name))];
const subVerbs = (parent: string): string[] => COMMANDS.flatMap((c) => (c.name.startsWith(`${parent} `) ? [c.name.slice(parent.length + 1)] : []));

/** What each verb's first argument may be, where it is a fixed list. */
const WORDS: Readonly<Record<string, readonly string[]>> = {
  help: firstWords,
  completion: SHELLS,
};

/** Every verb of the table with its options (loads each verb's module: only completion needs them all). */
async function completionVerbs(): Promise<CompletionVerb[]> {
  return Promise.all(
    COMMANDS.filter((entry) => !entry.name.includes(' ')).map(async (entry) => {
      const cmd = await entry.load();
      const options = Object.entries(cmd.options).map(([name, o]) => ({ name, ...(o.short ? { short: o.short } : {}), takesValue: o.type === 'string', help: o.help }));
      const words = WORDS[entry.name] ?? subVerbs(entry.name);
      return { name: entry.name, summary: entry.summary, options, ...(words.length > 0 ? { words } : {}) };
    }),
  );
}

/** `flotilla completion SHELL`: a completion script for bash, zsh or fish, from the verb table. */
export const command: Command = {
  name: 'completion',
  summary: 'print a shell completion script (bash, zsh or fish) for verbs and their options',
  usage: 'flotilla completion bash|zsh|fish [--json]',
  description: `Generated from the command table and each verb's options, so it completes what this version has.
  bash:  source <(flotilla completion bash)     or save it as /etc/bash_completion.d/flotilla
  zsh:   source <(flotilla completion zsh)      or save it as _flotilla in a directory of $fpath
  fish:  flotilla completion fish | source      or save it as ~/.config/fish/completions/flotilla.fish
With --json, prints {"shell": …, "script": …}.`,
  positionals: { min: 1, max: 1 },
  options: {},
  async run(input) {
    const shell = input.positionals[0] ?? '';
    if (!(SHELLS as readonly string[]).includes(shell)) throw new UsageError(`completion: no script for shell ${JSON.stringify(shell)}; choose one of ${SHELLS.join(', ')}`, { shell });
    const script = completionScript(shell as Shell, await completionVerbs());
    return { exitCode: 0, text: script, json: { shell, script } };
  },
};
