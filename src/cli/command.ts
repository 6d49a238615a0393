import type { Writable } from 'node:stream';
import type { Logger } from 'pino';

/** One option of a verb, as node:util parseArgs understands it, plus its help line. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** Shown in --help, e.g. "URL" for `--store URL`. */
  value?: string;
  help: string;
}

/** Parsed arguments handed to a verb: option values and positionals. */
export interface CommandInput {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/** What a verb may touch. Verbs write through these, never to process.* directly, and never exit. */
export interface CommandContext {
  stdout: Writable;
  stderr: Writable;
  /** True when --json was given: print one JSON document on stdout. */
  json: boolean;
  /** True when stderr is a terminal (progress bars, colour). */
  interactive: boolean;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM so long work can stop between steps. */
  signal: AbortSignal;
  /**
   * With --json, prints `data` at once as one envelope line (ok, the verb's kind): for a verb that reports
   * as it goes (`status --watch`, `serve`). Its stdout is then NDJSON, the result's envelope the last line.
   * Does nothing without --json.
   */
  emit(data: unknown): void;
}

/**
 * A verb's result. main.ts prints `json` (with --json, inside the envelope of json-envelope.ts) or `text`,
 * then exits with `exitCode`:
 * 0 ok, 1 failure, 2 usage error, 3 waiting/progressing.
 */
export interface CommandResult {
  exitCode: 0 | 1 | 2 | 3;
  text?: string;
  json?: unknown;
  /**
   * With exit 1, what the --json envelope's `error` says (default: code "Failed" and the text's last line),
   * e.g. the reason the verb already reports.
   */
  failure?: { code: string; message: string };
}

/** A verb: its help and its implementation. One file per verb in src/cli/. */
export interface Command {
  name: string;
  summary: string;
  /** e.g. "flotilla push DIR --store URL [options]" */
  usage: string;
  /** Longer help, shown under the usage line. */
  description?: string;
  options: Record<string, OptionSpec>;
  /** Bounds on positionals, checked before `run`. */
  positionals?: { min: number; max: number };
  run(input: CommandInput, ctx: CommandContext): Promise<CommandResult>;
}

/** Reads a string option that may also come from an environment variable. */
export function stringOption(input: CommandInput, name: string): string | undefined {
  const v = input.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Reads a repeatable string option (always an array). */
export function stringList(input: CommandInput, name: string): string[] {
  const v = input.values[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

/** Reads a boolean flag. */
export function flag(input: CommandInput, name: string): boolean {
  return input.values[name] === true;
}
