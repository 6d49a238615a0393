import { UsageError } from '../errors/index.js';
import type { Command } from './command.js';
import { COMMANDS } from './commands.js';
import { completionScript, SHELLS, type CompletionVerb, type Shell } from './completion-scripts.js';

// A two-word sub-verb (`agent reconcile`) is completed as a word after its verb: the scripts' verb cases are
// single words, so a name with a space would break their syntax.
const SINGLE = COMMANDS.filter((c) => !c.name.includes(' '));
const SUBVERBS = (verb: string): string[] => COMMANDS.filter((c) => c.name.startsWith(`${verb} `)).map((c) => c.name.slice(verb.length + 1));

/** What each verb's first argument may be, where it is a fixed list. */
const WORDS: Readonly<Record<string, readonly string[]>> = {
  help: SINGLE.map((c) => c.name),
  completion: SHELLS,
  ...Object.fromEntries(SINGLE.flatMap((c) => (SUBVERBS(c.name).length > 0 ? [[c.name, SUBVERBS(c.name)]] : []))),
};

/** Every verb of the table with its options (loads each verb's module: only completion needs them all). */
async function completionVerbs(): Promise<CompletionVerb[]> {
  return Promise.all(
    SINGLE.map(async (entry) => {
      const cmd = await entry.load();
      const options = Object.entries(cmd.options).map(([name, o]) => ({ name, ...(o.short ? { short: o.short } : {}), takesValue: o.type === 'string', help: o.help }));
      return { name: entry.name, summary: entry.summary, options, ...(WORDS[entry.name] ? { words: WORDS[entry.name] } : {}) };
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
