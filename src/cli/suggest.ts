import { UsageError } from '../errors/index.js';
import { closestMatch } from '../util/edit-distance.js';
import type { OptionSpec } from './command.js';
import { COMMANDS } from './commands.js';

/** The UsageError for a verb not in the table, with the closest verb when one is close. */
export function unknownVerbError(verb: string): UsageError {
  const near = closestMatch(verb, COMMANDS.map((c) => c.name));
  return new UsageError(`unknown command "${verb}"${near ? `; did you mean "${near}"?` : ';'} Run "flotilla --help" for the list`, { verb, ...(near ? { suggestion: near } : {}) });
}

/**
 * A parseArgs failure as a UsageError of `verb`; for an unknown option, names the closest option the verb
 * takes when one is close.
 */
export function parseFailure(verb: string, err: Error & { code?: string }, options: Record<string, OptionSpec>): UsageError {
  const unknown = err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'(--?[^'\s]+)'/.exec(err.message)?.[1] : undefined;
  const near = unknown?.startsWith('--') ? closestMatch(unknown.slice(2).split('=')[0] ?? '', Object.keys(options)) : undefined;
  if (unknown === undefined || near === undefined) return new UsageError(`${verb}: ${err.message}`);
  return new UsageError(`${verb}: unknown option ${unknown}; did you mean --${near}? Run "flotilla help ${verb}"`, { option: unknown, suggestion: `--${near}` });
}
