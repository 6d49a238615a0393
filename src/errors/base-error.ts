/**
 * What the reconcile loop should do after an error, in Flux's terms:
 * - `stall`: a human must change something (bad signature, invalid declaration); retrying is pointless.
 * - `wait`: a condition outside us must change (a rollout gate, a lock held elsewhere); check again later.
 * - `retry`: a passing fault (network, 5xx, a corrupt mirror); retry with backoff.
 */
export type RetryClass = 'stall' | 'wait' | 'retry';

/** Structured, JSON-safe detail attached to an error. Never put secrets here. */
export type ErrorData = Record<string, unknown>;

/**
 * Base of every error Flotilla raises on purpose. `code` is stable (scripts and tests match on it),
 * `data` names the object, file or field concerned, `retry` says what the loop should do next.
 */
export abstract class FlotillaError extends Error {
  abstract readonly code: string;
  abstract readonly retry: RetryClass;
  readonly data: ErrorData;

  constructor(message: string, data: ErrorData = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.data = data;
  }

  override get name(): string {
    return this.code;
  }

  toJSON(): { code: string; message: string; retry: RetryClass; data: ErrorData } {
    return { code: this.code, message: this.message, retry: this.retry, data: this.data };
  }
}

/** Builds a concrete error class with a fixed code and retry class (one class per code). */
export function defineError<C extends string>(code: C, retry: RetryClass) {
  return class extends FlotillaError {
    readonly code: C = code;
    readonly retry: RetryClass = retry;
  };
}

/** True when `err` is a Flotilla error carrying `code`. */
export function hasCode(err: unknown, code: string): boolean {
  return err instanceof FlotillaError && err.code === code;
}
