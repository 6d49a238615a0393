/**
 * The help texts of `flotilla --help` and `flotilla VERB --help`, exactly as the CLI prints them, made at
 * build time (help-snapshot.ts) so that the bin's entry can answer them without loading the CLI: a process
 * start then costs little more than Node's own (docs/performance.md).
 */
export interface HelpTable {
  /** stdout of `flotilla --help` (also of `flotilla` alone, which exits 2). */
  top: string;
  /** stdout of `flotilla NAME --help`, by verb name (`agent reconcile` for a sub-verb). */
  verbs: Record<string, string>;
}

/** What the entry prints and the code it exits with. */
export interface QuickAnswer {
  text: string;
  exitCode: 0 | 2;
}

/**
 * The answer for `argv` (without node and the script) when it is one of the forms the table holds: nothing,
 * `--help`/`-h` first (whatever follows: the CLI looks no further), or a verb's name (one or two words)
 * followed by `--help`/`-h` alone. Anything else, including a verb the table does not know, is undefined:
 * the CLI proper answers it, so a stale or missing table can only make the answer slower, never different.
 */
export function quickHelp(argv: readonly string[], table: HelpTable): QuickAnswer | undefined {
  const [first] = argv;
  if (first === undefined) return { text: table.top, exitCode: 2 };
  if (first === '--help' || first === '-h') return { text: table.top, exitCode: 0 };
  const last = argv[argv.length - 1];
  if (argv.length < 2 || argv.length > 3 || (last !== '--help' && last !== '-h')) return undefined;
  const text = table.verbs[argv.slice(0, -1).join(' ')];
  return text === undefined ? undefined : { text, exitCode: 0 };
}
