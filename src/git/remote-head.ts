import { TransportError } from '../errors/index.js';
import { authHeaders, type GitAuth } from './git-auth.js';
import { exchange, type GitHttpAnswer } from './http-exchange.js';
import { lsRefsRequest, parseLsRefsResult } from './ls-refs-v2.js';
import { parseRefAdvertisement } from './pkt-line-refs.js';

/** Default byte cap on one ref advertisement (a v0 server advertises every tag). */
export const DEFAULT_MAX_ADVERTISEMENT_BYTES = 4 * 1024 * 1024;

/** Options of readRemoteHead. */
export interface RemoteHeadOptions {
  /** The repo's http(s) URL, as the agent config gives it (no credentials in it). */
  url: string;
  branch: string;
  auth?: GitAuth;
  /** Whole deadline of each request (connect, headers, body). */
  deadlineMs: number;
  maxBytes?: number;
}

/** Servers found not to speak protocol v2, by URL: the head check goes straight to the v0 advertisement. */
const v0Servers = new Set<string>();

function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(unparseable url)';
  }
}

/**
 * Statuses after which asking the same server in protocol v0 cannot go better (credentials, throttling,
 * server fault): a 429 must not make the server count as v0-only for the rest of the process.
 */
function isFinal(status: number): boolean {
  return status === 401 || status === 403 || status === 407 || status === 429 || status >= 500;
}

/** The refusal of a non-200 answer, carrying the status and any Retry-After for the caller's backoff. */
function answeredError(message: string, shown: string, answer: GitHttpAnswer): TransportError {
  return new TransportError(message, { url: shown, status: answer.status, ...(answer.retryAfter !== undefined ? { retryAfter: answer.retryAfter } : {}) });
}

/** The branch's oid by protocol v2 `ls-refs`; undefined when the server does not speak v2. */
async function headByLsRefs(o: RemoteHeadOptions, base: string, shown: string): Promise<string | null | undefined> {
  const answer = await exchange({
    url: new URL(`${base}/git-upload-pack`),
    method: 'POST',
    headers: {
      'content-type': 'application/x-git-upload-pack-request',
      accept: 'application/x-git-upload-pack-result',
      'git-protocol': 'version=2',
      'user-agent': 'git/flotilla',
      ...authHeaders(o.auth),
    },
    body: lsRefsRequest(`refs/heads/${o.branch}`),
    deadlineMs: o.deadlineMs,
    maxBytes: o.maxBytes ?? DEFAULT_MAX_ADVERTISEMENT_BYTES,
    shown,
  });
  if (isFinal(answer.status)) throw answeredError(`${shown}: git-upload-pack answered ${answer.status}`, shown, answer);
  if (answer.status !== 200 || answer.contentType !== 'application/x-git-upload-pack-result' || answer.body.length === 0) return undefined;
  return parseLsRefsResult(answer.body).get(`refs/heads/${o.branch}`) ?? null;
}

/** The branch's oid from the v0 ref advertisement (GET info/refs): every ref of the repository. */
async function headByAdvertisement(o: RemoteHeadOptions, base: string, shown: string): Promise<string | null> {
  const answer = await exchange({
    url: new URL(`${base}/info/refs?service=git-upload-pack`),
    method: 'GET',
    headers: { accept: 'application/x-git-upload-pack-advertisement', 'user-agent': 'git/flotilla', ...authHeaders(o.auth) },
    deadlineMs: o.deadlineMs,
    maxBytes: o.maxBytes ?? DEFAULT_MAX_ADVERTISEMENT_BYTES,
    shown,
  });
  if (answer.status !== 200 || answer.contentType !== 'application/x-git-upload-pack-advertisement') {
    throw answeredError(`${shown}: info/refs answered ${answer.status} ${answer.contentType || '(no content type)'}, not a smart-HTTP advertisement`, shown, answer);
  }
  return parseRefAdvertisement(answer.body).get(`refs/heads/${o.branch}`) ?? null;
}

/**
 * Asks an http(s) git server where `branch` points: one protocol v2 `ls-refs` POST limited to that branch
 * (its size does not grow with the repository's other refs), or, from a server that does not speak v2,
 * one GET of the v0 ref advertisement (remembered per URL, so later checks make one request too). The oid,
 * or null when the branch does not exist (a refusal's TransportError carries `status` and the server's
 * `retryAfter` in its data). No redirects are followed. Throws TransportError (network,
 * credentials refused, server error, not a smart-HTTP server), TimeoutError, SizeLimitError, or GitError
 * (malformed answer).
 */
export async function readRemoteHead(o: RemoteHeadOptions): Promise<string | null> {
  const base = o.url.replace(/\/+$/, '');
  const shown = redact(o.url);
  if (!v0Servers.has(base)) {
    const head = await headByLsRefs(o, base, shown);
    if (head !== undefined) return head;
    v0Servers.add(base);
  }
  return headByAdvertisement(o, base, shown);
}
