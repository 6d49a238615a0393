import { FlotillaError, type ErrorData, type RetryClass } from '../errors/index.js';
import type { CommandResult } from './command.js';

/** The error part of an envelope: a FlotillaError's code and message (and its retry class and data when it has them). */
export interface EnvelopeError {
  code: string;
  message: string;
  retry?: RetryClass;
  data?: ErrorData;
}

/**
 * What every verb prints with --json (schemas/cli-envelope.schema.json, docs/cli-json.md). `kind` is the
 * verb's name as in the COMMANDS table (null for a verb that does not exist); `data` is the verb's own
 * document (null when it has none, or when it failed before having one); `error` is there exactly when
 * `ok` is false.
 */
export interface Envelope {
  ok: boolean;
  kind: string | null;
  data: unknown;
  error?: EnvelopeError;
}

/** Code of a verb that ran to the end but whose verdict is a failure (exit 1): `data` says what failed. */
export const VERDICT_FAILED = 'Failed';
/** Code of a verb cut short by SIGINT, SIGTERM or a closed stdout (exit 130, 143, 141). */
export const INTERRUPTED = 'Interrupted';

function lastLine(text: string | undefined): string | undefined {
  return text?.trimEnd().split('\n').at(-1)?.trim() || undefined;
}

/**
 * The envelope of a verb's result. Exit 0 (done) and 3 (waiting, progressing) are ok; exit 1 is a verdict
 * of failure whose details stay in `data`, exit 2 a usage error.
 */
export function resultEnvelope(kind: string, result: CommandResult): Envelope {
  const data = result.json ?? null;
  if (result.exitCode === 0 || result.exitCode === 3) return { ok: true, kind, data };
  const code = result.failure?.code ?? (result.exitCode === 2 ? 'UsageError' : VERDICT_FAILED);
  const message = result.failure?.message ?? lastLine(result.text) ?? `${kind} failed`;
  return { ok: false, kind, data, error: { code, message } };
}

/** The envelope of a thrown error: a FlotillaError keeps its code, anything else is an InternalError. */
export function errorEnvelope(kind: string | null, err: unknown): Envelope {
  const error: EnvelopeError =
    err instanceof FlotillaError ? err.toJSON() : { code: 'InternalError', message: err instanceof Error ? err.message : String(err) };
  return { ok: false, kind, data: null, error };
}

/** The envelope of a verb stopped by a signal or a closed stdout. */
export function interruptedEnvelope(kind: string | null, message: string): Envelope {
  return { ok: false, kind, data: null, error: { code: INTERRUPTED, message } };
}
