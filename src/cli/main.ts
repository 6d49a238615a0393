import { parseArgs } from 'node:util';
import { findCommand } from './commands.js';
import type { Command, CommandContext, CommandInput } from './command.js';
import { COMMON_OPTIONS, commandHelp, helpDocument, topHelp } from './help-text.js';
import { watchBrokenPipe } from './broken-pipe.js';
import { CliOutput } from './output.js';
import { parseFailure, unknownVerbError } from './suggest.js';
import { FlotillaError, UsageError } from '../errors/index.js';
import { isJournalStream } from '../util/journal-stream.js';
import { createLogger } from '../util/logger.js';
import { isEntryPoint } from '../util/entry-point.js';
import { FLOTILLA_VERSION } from '../util/version.js';

// Help texts live in help-text.ts (the `help` verb and the docs generator use them too).
export { commandHelp } from './help-text.js';

/** True when --version appears among the options (before a `--` that ends them). */
function wantsVersion(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--version');
}

function parseInput(cmd: Command, argv: string[]): CommandInput {
  const options = Object.fromEntries(
    Object.entries({ ...cmd.options, ...COMMON_OPTIONS }).map(([name, o]) => [
      name,
      { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) },
    ]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw parseFailure(cmd.name, err as Error & { code?: string }, { ...cmd.options, ...COMMON_OPTIONS });
  }
  const { min, max } = cmd.positionals ?? { min: 0, max: 0 };
  if (!parsed.values['help'] && (parsed.positionals.length < min || parsed.positionals.length > max)) {
    throw new UsageError(`${cmd.name}: expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${parsed.positionals.length}\nusage: ${cmd.usage}`);
  }
  return { values: parsed.values as CommandInput['values'], positionals: parsed.positionals };
}

/** The abort reason main gives on a signal: an AbortError (as code that checks `name` expects) naming it. */
function interruption(sig: NodeJS.Signals): Error {
  return Object.assign(new Error(`interrupted by ${sig}`), { name: 'AbortError', signal: sig });
}

/** 128 + the signal's number when `signal` was aborted by SIGINT, SIGTERM or a closed stdout (SIGPIPE; see interruption). */
function interruptedCode(signal: AbortSignal): 130 | 141 | 143 | undefined {
  if (!signal.aborted) return undefined;
  const sig = (signal.reason as { signal?: unknown } | undefined)?.signal;
  return sig === 'SIGINT' ? 130 : sig === 'SIGTERM' ? 143 : sig === 'SIGPIPE' ? 141 : undefined;
}

/** Runs one CLI invocation and returns its exit code. Never exits; `main()` below is the only exit. */
export async function runCli(argv: string[], io: Pick<CommandContext, 'stdout' | 'stderr' | 'env' | 'cwd'> & { signal?: AbortSignal }): Promise<number> {
  const [verb, ...rest] = argv;
  const json = rest.includes('--json');
  const debug = rest.includes('--debug');
  const out = new CliOutput(io, { json, debug, journal: isJournalStream(io.env) });
  let logger: CommandContext['logger'] | undefined;
  const ctx: CommandContext = {
    ...io,
    json,
    interactive: (io.stderr as { isTTY?: boolean }).isTTY === true,
    // Made on first use: most verbs never log, and the logging library costs start-up time.
    get logger() {
      return (logger ??= createLogger({ level: debug ? 'debug' : (io.env['FLOTILLA_LOG_LEVEL'] ?? 'warn'), env: io.env }));
    },
    signal: io.signal ?? new AbortController().signal,
    emit: (data) => out.emit(data),
  };
  if (verb === undefined || verb === '--help' || verb === '-h') {
    ctx.stdout.write(`${topHelp()}\n`);
    return verb === undefined ? 2 : 0;
  }
  if (wantsVersion(argv)) {
    out.kind = 'version';
    if (argv.includes('--json')) out.result({ exitCode: 0, json: { version: FLOTILLA_VERSION } });
    else ctx.stdout.write(`${FLOTILLA_VERSION}\n`);
    return 0;
  }
  const found = findCommand(argv);
  try {
    if (!found) throw unknownVerbError(verb);
    out.kind = found.entry.name;
    const cmd = await found.entry.load();
    const input = parseInput(cmd, found.rest);
    if (input.values['help']) {
      out.result({ exitCode: 0, text: commandHelp(cmd), json: helpDocument(cmd) });
      return 0;
    }
    const result = await cmd.run(input, ctx);
    out.result(result);
    return result.exitCode;
  } catch (err) {
    // A verb cut short by a signal exits 128 + signo; one that finished anyway (the agent's graceful stop)
    // keeps its own code above.
    const interrupted = interruptedCode(ctx.signal);
    if (interrupted !== undefined && !(err instanceof FlotillaError)) {
      // Nobody reads a closed stdout, and a broken pipe is the reader's choice, not news: a quiet exit.
      if (interrupted !== 141) out.interrupted((ctx.signal.reason as Error).message);
      return interrupted;
    }
    const code = out.error(err);
    return interrupted ?? code;
  }
}

/**
 * The CLI as a process: runs `process.argv` with the process's streams, aborts the verb on SIGINT, SIGTERM
 * or a closed stdout, and sets the exit code. Called by the bin's entry (bin-entry.ts), or when this module
 * is the script node was started with.
 */
export async function main(): Promise<void> {
  // A fetch opens, hashes and renames thousands of files through libuv's thread pool (4 threads by
  // default); more threads keep the disk busy. Read when the pool first starts, which is after this line:
  // no module imported above touches the file system at import time.
  process.env['UV_THREADPOOL_SIZE'] ??= '16';
  const controller = new AbortController();
  // The second signal is not caught: it ends the process the default way if something still hangs.
  const onSignal = (sig: NodeJS.Signals): void => controller.abort(interruption(sig));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // A reader that went away (`flotilla log | head -1`) stops the verb as SIGPIPE would, without a stack trace.
  // The error may come after runCli returned (the result was the last write), so the code is set here too.
  const broken = watchBrokenPipe(process.stdout, process.stderr, () => {
    process.exitCode = 141;
    controller.abort(interruption('SIGPIPE'));
  });
  const code = await runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
  });
  process.exitCode = broken.happened() ? 141 : code;
}

// Only the CLI entry point sets the exit code; importing this module (tests, docs generator) runs nothing.
if (isEntryPoint(import.meta.url)) void main();
