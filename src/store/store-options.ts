import { parseDuration } from '../util/duration.js';

/**
 * How long a store request may take. Every backend that talks to a network applies all four; the
 * directory store ignores them. Defaults fit a slow link: a stuck server fails a verb in about a minute,
 * a slow but moving download is never cut short.
 */
export interface StoreDeadlines {
  /** Per attempt: the TCP (and TLS) connection must be up within this. */
  connectTimeoutMs: number;
  /**
   * Per request, over every attempt and backoff: a HEAD, a listing, a delete, a small put, and a GET up to
   * its response headers must be done within this.
   */
  timeoutMs: number;
  /** Object bodies (GET bodies, streamed and large puts) have no total deadline: they fail when no byte moves for this long. */
  idleTimeoutMs: number;
  /** Attempts per idempotent request on transport errors, timeouts and 5xx, with exponential backoff. */
  attempts: number;
}

/** The defaults: connect 10 s, total 60 s, idle 30 s, 3 attempts. */
export const DEFAULT_DEADLINES: Readonly<StoreDeadlines> = {
  connectTimeoutMs: 10_000,
  timeoutMs: 60_000,
  idleTimeoutMs: 30_000,
  attempts: 3,
};

/** A put body up to this size counts as a small request (total deadline); larger ones get the idle deadline only. */
export const SMALL_BODY_BYTES = 1 << 20;

/** Query parameters every network store URL accepts, with what they set. */
export const DEADLINE_PARAMS = ['connectTimeout', 'timeout', 'idleTimeout', 'attempts'] as const;

/**
 * Reads `connectTimeout=`, `timeout=`, `idleTimeout=` (durations: `500ms`, `10s`, `2m`) and `attempts=`
 * (1 to 10) from a store URL's query, over the defaults. Calls `bad` (which throws) on a malformed value.
 */
export function parseDeadlines(params: URLSearchParams, bad: (why: string) => never): StoreDeadlines {
  const out: StoreDeadlines = { ...DEFAULT_DEADLINES };
  const ms = (name: string): number | undefined => {
    const text = params.get(name);
    if (text === null) return undefined;
    const v = parseDuration(text);
    if (v === undefined || v <= 0) bad(`${name} must be a positive duration like 500ms, 10s or 2m, not ${JSON.stringify(text)}`);
    return v;
  };
  out.connectTimeoutMs = ms('connectTimeout') ?? out.connectTimeoutMs;
  out.timeoutMs = ms('timeout') ?? out.timeoutMs;
  out.idleTimeoutMs = ms('idleTimeout') ?? out.idleTimeoutMs;
  const attempts = params.get('attempts');
  if (attempts !== null) {
    if (!/^([1-9]|10)$/.test(attempts)) bad(`attempts must be a whole number from 1 to 10, not ${JSON.stringify(attempts)}`);
    out.attempts = Number(attempts);
  }
  return out;
}
