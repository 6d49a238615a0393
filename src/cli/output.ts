import type { Writable } from 'node:stream';
import { FlotillaError, UsageError } from '../errors/index.js';
import { fromSystemError } from '../errors/system-error.js';
import { SYSLOG_PRIORITY, withPriority } from '../util/journal-stream.js';
import type { CommandResult } from './command.js';
import { errorEnvelope, interruptedEnvelope, resultEnvelope, type Envelope } from './json-envelope.js';

/**
 * The one place a CLI invocation prints its outcome: the text, or with --json the envelope of
 * json-envelope.ts on stdout, one per line (NDJSON): a verb that streams (`emit`) prints several, its result
 * last, so a reader never needs to know which verbs stream.
 */
export class CliOutput {
  /** The verb's name once it is known; null for a verb that does not exist. */
  kind: string | null = null;

  constructor(
    private readonly io: { stdout: Writable; stderr: Writable },
    private readonly options: { json: boolean; debug: boolean; journal: boolean },
  ) {}

  private print(envelope: Envelope): void {
    this.io.stdout.write(`${JSON.stringify(envelope)}\n`);
  }

  /** A human line on stderr; an error's gets journald's `err` priority when stderr is the journal. */
  private complain(text: string): void {
    this.io.stderr.write(this.options.journal ? withPriority(text, SYSLOG_PRIORITY.err) : text);
  }

  /** With --json, one envelope line now (see CommandContext.emit). */
  emit(data: unknown): void {
    if (this.options.json) this.print({ ok: true, kind: this.kind, data });
  }

  /** Prints a verb's result: its envelope with --json, else its text. */
  result(result: CommandResult): void {
    if (this.options.json) this.print(resultEnvelope(this.kind ?? '', result));
    else if (result.text !== undefined && result.text !== '') this.io.stdout.write(result.text.endsWith('\n') ? result.text : `${result.text}\n`);
  }

  /**
   * Reports a thrown error: the envelope on stdout with --json, and always `flotilla: CODE: message` on
   * stderr for the human or the log watching. Returns the exit code: 2 for a usage error, else 1.
   */
  error(thrown: unknown): 1 | 2 {
    // A missing or unreadable path the user named is their fact to fix, not our bug.
    const err = fromSystemError(thrown);
    if (this.options.json) this.print(errorEnvelope(this.kind, err));
    if (err instanceof FlotillaError) this.complain(`flotilla: ${err.code}: ${err.message}\n`);
    else this.complain(`flotilla: InternalError: ${err instanceof Error ? err.message : String(err)}\n`);
    if (this.options.debug && err instanceof Error && err.stack) this.io.stderr.write(`${err.stack}\n`);
    return err instanceof UsageError ? 2 : 1;
  }

  /** Reports a verb cut short by a signal (or a closed stdout). */
  interrupted(message: string): void {
    if (this.options.json) this.print(interruptedEnvelope(this.kind, message));
    this.complain(`flotilla: ${message}\n`);
  }
}
