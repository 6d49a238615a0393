// How long to wait before trying again (a store read, a git head check). A server that says how long (429 or 503 with Retry-After,
// as S3 and CDNs do when throttling) is obeyed, within a cap; otherwise exponential backoff with full
// jitter, so a fleet that failed together does not retry together.

/** Longest wait a server's Retry-After can ask of one retry; the request's total deadline still applies. */
export const MAX_RETRY_AFTER_MS = 30_000;

/** Statuses worth retrying a read after: a server error, or a server asking the client to slow down. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * Milliseconds to wait before attempt `attempt + 1`: Retry-After (delta-seconds or an HTTP date, read
 * against `nowMs`) when the server sent one, capped at MAX_RETRY_AFTER_MS; else 100 ms · 2^attempt scaled
 * by `random()` in [0.5, 1.5).
 */
export function retryDelayMs(attempt: number, retryAfter: string | undefined, nowMs: number, random: () => number = Math.random): number {
  const asked = parseRetryAfter(retryAfter, nowMs);
  if (asked !== undefined) return Math.min(asked, MAX_RETRY_AFTER_MS);
  return Math.round(100 * 2 ** attempt * (0.5 + random()));
}

/** How a poller spaces its attempts after failures: from `baseMs`, doubling, never past `capMs`. */
export interface PollBackoff {
  baseMs: number;
  capMs: number;
}

/**
 * How long a poller waits after its `failures`-th failure in a row (1 or more) before asking the same server
 * again: what the server's Retry-After asks when it sent one (capped at `capMs`, never less than `baseMs`),
 * else `baseMs` · 2^(failures-1), capped, scaled by `random()` into [0.5, 1.5) so a fleet that failed
 * together does not come back together.
 */
export function pollBackoffMs(failures: number, retryAfter: string | undefined, nowMs: number, b: PollBackoff, random: () => number = Math.random): number {
  const asked = parseRetryAfter(retryAfter, nowMs);
  if (asked !== undefined) return Math.min(Math.max(asked, b.baseMs), b.capMs);
  const grown = Math.min(b.baseMs * 2 ** Math.max(0, Math.min(failures - 1, 30)), b.capMs);
  return Math.round(grown * (0.5 + random()));
}

function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d{1,9}$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
