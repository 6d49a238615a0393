import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { GitError, SizeLimitError, TimeoutError } from '../errors/index.js';

/** A byte and time budget shared by every request of one sync, and the first limit that tripped. */
export interface HttpBudget {
  /** Most response body bytes over all requests. */
  maxBytes: number;
  /** Absolute deadline (epoch ms, from Date.now()). */
  deadline: number;
  /** Optional caller abort (agent shutdown). */
  signal?: AbortSignal;
  /** Bytes received so far. */
  received: number;
  /** Set when a limit tripped: the error to surface whatever isomorphic-git wraps it in. */
  tripped?: Error;
}

/** Creates a fresh budget; `deadlineMs` is relative to now. */
export function createHttpBudget(maxBytes: number, deadlineMs: number, signal?: AbortSignal): HttpBudget {
  return { maxBytes, deadline: Date.now() + deadlineMs, received: 0, ...(signal ? { signal } : {}) };
}

function trip(budget: HttpBudget, err: Error): never {
  budget.tripped ??= err;
  throw budget.tripped;
}

async function* countBody(body: AsyncIterableIterator<Uint8Array>, budget: HttpBudget, url: string): AsyncIterableIterator<Uint8Array> {
  for await (const chunk of body) {
    budget.received += chunk.byteLength;
    if (budget.received > budget.maxBytes) trip(budget, new SizeLimitError(`git transfer from ${url} exceeded ${budget.maxBytes} bytes`, { url, limit: budget.maxBytes }));
    if (Date.now() > budget.deadline) trip(budget, new TimeoutError(`git transfer from ${url} passed its deadline`, { url }));
    yield chunk;
  }
}

/** Strips credentials and query from a URL before it appears in an error. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}

/**
 * isomorphic-git's node HTTP client, wrapped so every request of one sync shares a byte cap and a deadline
 * (and the caller's abort). Breaching either aborts the request and records SizeLimitError/TimeoutError in
 * `budget.tripped`; callers rethrow that rather than isomorphic-git's wrapper. Content-Length is never trusted.
 */
export function createCappedHttp(budget: HttpBudget): HttpClient {
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const url = redactUrl(req.url);
      const remaining = budget.deadline - Date.now();
      if (remaining <= 0) trip(budget, new TimeoutError(`git transfer from ${url} passed its deadline`, { url }));
      const signals = [AbortSignal.timeout(remaining), ...(budget.signal ? [budget.signal] : [])];
      try {
        // Node's global agent gives every socket a 5 s idle timeout, which simple-get (under isomorphic-git's
        // client) turns into "Request timed out": a loaded git server that takes 5 s to answer failed every
        // sync long before its deadline. The request's own timeout replaces the agent's while it runs (the
        // agent restores its own when the socket goes back to the pool), so only the budget's deadline applies.
        const res = await http.request({ ...req, signal: AbortSignal.any(signals), fetchOptions: { timeout: remaining } });
        return { ...res, body: countBody(res.body ?? (async function* () {})(), budget, url) };
      } catch (err) {
        if (budget.tripped) throw budget.tripped;
        if (Date.now() >= budget.deadline) trip(budget, new TimeoutError(`git request to ${url} passed its deadline`, { url }));
        // The repo, not a store, is out of reach: GitError, so status says RepoUnreachable, not FetchFailed.
        throw new GitError(`git request to ${url} failed: ${(err as Error).message}`, { url }, { cause: err });
      }
    },
  };
}
