/** A deadline running over some work: `signal` aborts when it passes or any linked signal aborts. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Stops the timer (the linked signals still abort `signal`). Idempotent. */
  clear(): void;
}

/**
 * Starts a deadline of `ms` (none when undefined) whose abort reason is `onTimeout()` (a TimeoutError that
 * names the store and the key), linked to the caller's and the store's own signals so a SIGTERM ends the
 * work at once. Clear it when the work is done, or it keeps the timer alive.
 */
export function startDeadline(ms: number | undefined, onTimeout: () => Error, ...links: Array<AbortSignal | undefined>): Deadline {
  const ctl = new AbortController();
  const timer = ms === undefined ? undefined : setTimeout(() => ctl.abort(onTimeout()), ms);
  // Deduplicated: the CLI hands the same signal in as the caller's and the store's, and each signal
  // AbortSignal.any follows costs tens of microseconds per request.
  const signals = [ctl.signal, ...new Set(links.filter((s): s is AbortSignal => s !== undefined))];
  return {
    signal: signals.length === 1 ? ctl.signal : AbortSignal.any(signals),
    clear: () => clearTimeout(timer),
  };
}

/** Whichever linked signal aborted, its reason as an Error (a TimeoutError of a deadline, else an AbortError). */
export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  return Object.assign(new Error('the operation was aborted'), { name: 'AbortError' });
}
