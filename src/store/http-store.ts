import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { NotFoundError, UnsupportedOperationError } from '../errors/index.js';
import { guardBody, readCapped } from './byte-cap.js';
import { abortReason } from './deadline.js';
import { normaliseEtag } from './etag.js';
import { httpNetworkError, httpStatusError } from './http-errors.js';
import { readInto } from './http-read-into.js';
import { createHttpAgents, type HttpExchange } from './http-request.js';
import { discard, sendHttp, type HttpSendPolicy } from './http-send.js';
import { checkKey } from './key-path.js';
import { DEFAULT_DEADLINES, type StoreDeadlines } from './store-options.js';
import type { ConditionalGetResult, ConsumeView, GetOptions, ObjectInfo, PutOptions, Store } from './store.js';

/** Options of an HTTP store. */
export interface HttpStoreOptions {
  /** Base URL ending with '/' (may carry user:password, sent as Basic auth and never printed). */
  base: string;
  /** The URL without credentials, for messages. */
  url: string;
  /** PUT and DELETE allowed (default false). */
  writable?: boolean;
  /** Explicit credentials; they win over user:password in the URL. */
  credentials?: { kind: 'bearer'; token: string } | { kind: 'basic'; username: string; password: string };
  /** Connect, total and idle deadlines and attempts (default DEFAULT_DEADLINES); any subset. */
  deadlines?: Partial<StoreDeadlines>;
  /** Origins besides the store's own that a redirect may lead to (never with credentials). */
  allowRedirectTo?: readonly string[];
  /** Aborts every request of this store at once (the CLI's SIGTERM). */
  signal?: AbortSignal;
}

const NO_COORDINATION =
  'an HTTP store cannot coordinate rollouts; use a directory or S3 store (HTTP has no create-if-absent or compare-and-swap)';

function authHeader(base: URL, c: HttpStoreOptions['credentials']): string | undefined {
  const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  if (c?.kind === 'bearer') return `Bearer ${c.token}`;
  if (c?.kind === 'basic') return basic(c.username, c.password);
  if (base.username !== '' || base.password !== '') return basic(decodeURIComponent(base.username), decodeURIComponent(base.password));
  return undefined;
}

const ok = (res: IncomingMessage): boolean => (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;

const header = (res: IncomingMessage, name: string): string | undefined => {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * A read-mostly store over plain HTTP(S) (nginx, Artifactory, any static host): GET and HEAD on BASE/KEY,
 * PUT and DELETE only when writable. There is no listing convention over HTTP, so `list` and every
 * conditional write throw UnsupportedOperationError. Bodies are capped by counting bytes (Content-Length is
 * never trusted); every request has a connect and a total deadline, bodies a stall deadline (see
 * StoreDeadlines and sendHttp, which also holds the redirect policy); GET/HEAD retry with backoff.
 */
export function createHttpStore(o: HttpStoreOptions): Store {
  const base = new URL(o.base);
  const auth = authHeader(base, o.credentials);
  base.username = '';
  base.password = '';
  const { url } = o;
  const writable = o.writable ?? false;
  const deadlines = { ...DEFAULT_DEADLINES, ...o.deadlines };
  const agents = createHttpAgents();
  const policy: HttpSendPolicy = {
    url,
    origin: base.origin,
    allowRedirectTo: o.allowRedirectTo ?? [],
    deadlines,
    agents,
    ...(o.signal ? { signal: o.signal } : {}),
  };
  const target = (key: string): string => new URL(checkKey(key).split('/').map(encodeURIComponent).join('/'), base).href;
  const headers = (extra: Record<string, string> = {}): Record<string, string> =>
    auth === undefined ? extra : { ...extra, authorization: auth };
  const send = (op: string, key: string, x: Omit<HttpExchange, 'href'>, signal?: AbortSignal): Promise<IncomingMessage> =>
    sendHttp(policy, op, key, { ...x, href: target(key) }, signal);

  async function get(key: string, opts: GetOptions = {}): Promise<Readable> {
    const res = await send('get', key, { method: 'GET', headers: headers() }, opts.signal);
    if (!ok(res)) {
      discard(res);
      throw httpStatusError(res.statusCode ?? 0, 'get', key, url);
    }
    return bodyOf(res, key, opts);
  }

  /** A 2xx response's body under the byte cap and the signals. */
  function bodyOf(res: IncomingMessage, key: string, opts: GetOptions): Readable {
    // One pass-through layer only (the byte cap and error mapping): the body's stall deadline is the
    // socket's idle timeout set by sendOnce (it destroys the response with a TimeoutError), and the
    // caller's and the store's signals stay linked to the request, so aborting either ends the body with
    // the abort's reason.
    const stop = [opts.signal, o.signal];
    return guardBody(res, `${key} in ${url}`, opts.maxBytes, (err) => {
      const aborted = stop.find((s) => s?.aborted === true);
      return aborted ? abortReason(aborted) : httpNetworkError(err, 'get', key, url);
    });
  }

  async function readIntoStore(key: string, size: number, consume: ConsumeView, opts: { signal?: AbortSignal } = {}): Promise<'done' | 'unsupported'> {
    const stop = [opts.signal, o.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = stop.length === 1 ? (stop[0] as AbortSignal) : AbortSignal.any(stop);
    try {
      return await readInto(target(key), { size, headers: headers(), connectMs: deadlines.connectTimeoutMs, idleMs: deadlines.idleTimeoutMs, signal, what: `get ${key} in ${url}` }, consume);
    } catch (err) {
      const aborted = stop.find((s) => s.aborted);
      throw aborted ? abortReason(aborted) : httpNetworkError(err, 'get', key, url);
    }
  }

  async function getIfChanged(key: string, etag: string | undefined, opts: GetOptions & { maxBytes: number }): Promise<ConditionalGetResult> {
    // Quoted as RFC 9110 wants; servers compare the opaque tag inside the quotes.
    const extra: Record<string, string> = etag === undefined || etag === '' ? {} : { 'if-none-match': `"${normaliseEtag(etag)}"` };
    const res = await send('get', key, { method: 'GET', headers: headers(extra) }, opts.signal);
    if (res.statusCode === 304) {
      discard(res);
      return { notModified: true };
    }
    const current = normaliseEtag(header(res, 'etag') ?? '');
    if (!ok(res)) {
      discard(res);
      throw httpStatusError(res.statusCode ?? 0, 'get', key, url);
    }
    const bytes = await readCapped(bodyOf(res, key, opts), opts.maxBytes, `${key} in ${url}`);
    return { notModified: false, bytes, etag: current };
  }

  async function head(key: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
    const res = await send('head', key, { method: 'HEAD', headers: headers() }, opts.signal);
    discard(res);
    if (!ok(res)) throw httpStatusError(res.statusCode ?? 0, 'head', key, url);
    const lm = header(res, 'last-modified');
    return {
      key,
      size: Number(header(res, 'content-length') ?? 0),
      etag: normaliseEtag(header(res, 'etag') ?? ''),
      ...(lm !== undefined ? { lastModified: new Date(lm) } : {}),
    };
  }

  function refuse(op: string, key: string, why: string): never {
    throw new UnsupportedOperationError(`${op} ${key}: ${why} (${url})`, { url, key, op });
  }

  async function put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<{ etag: string }> {
    if (opts.ifNoneMatch !== undefined || opts.ifMatch !== undefined) refuse('put', key, NO_COORDINATION);
    if (!writable) refuse('put', key, 'this HTTP store is read-only (open it writable or add ?writable=1)');
    const length = Buffer.isBuffer(body) ? body.length : opts.contentLength;
    const res = await send(
      'put',
      key,
      {
        method: 'PUT',
        headers: headers({
          'content-type': opts.contentType ?? 'application/octet-stream',
          ...(length !== undefined ? { 'content-length': String(length) } : {}),
        }),
        body,
      },
      opts.signal,
    ).catch((err: unknown) => {
      if (!Buffer.isBuffer(body)) body.destroy();
      throw err;
    });
    discard(res);
    if (!ok(res)) throw httpStatusError(res.statusCode ?? 0, 'put', key, url);
    return { etag: normaliseEtag(header(res, 'etag') ?? '') };
  }

  async function del(key: string, opts: { ifMatch?: string } = {}): Promise<void> {
    if (opts.ifMatch !== undefined) refuse('delete', key, NO_COORDINATION);
    if (!writable) refuse('delete', key, 'this HTTP store is read-only (open it writable or add ?writable=1)');
    const res = await send('delete', key, { method: 'DELETE', headers: headers() });
    discard(res);
    if (!ok(res) && res.statusCode !== 404 && res.statusCode !== 410) throw httpStatusError(res.statusCode ?? 0, 'delete', key, url);
  }

  return {
    url,
    capabilities: { write: writable, list: false, conditionalWrites: 'none' },
    get,
    async getBytes(key, opts) {
      return readCapped(await get(key, opts), opts.maxBytes, `${key} in ${url}`);
    },
    getIfChanged,
    // Plain HTTP only: TLS has its own read path, so an https store reads through the general client.
    ...(base.protocol === 'http:' ? { readInto: readIntoStore } : {}),
    put,
    head,
    list(prefix) {
      // Inside the executor, the refusal rejects the promise (as from every other Store method) instead of throwing.
      return new Promise(() => refuse('list', prefix, 'an HTTP store has no listing; list through the directory or S3 store behind it'));
    },
    delete: del,
    isNotFound: (err) => err instanceof NotFoundError,
    close() {
      agents.destroy();
      return Promise.resolve();
    },
  };
}
