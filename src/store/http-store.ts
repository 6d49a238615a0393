import { addAbortSignal, Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { NotFoundError, TimeoutError, TransportError, UnsupportedOperationError } from '../errors/index.js';
import { guardBody, readCapped } from './byte-cap.js';
import { normaliseEtag } from './etag.js';
import { httpNetworkError, httpStatusError } from './http-errors.js';
import { checkKey } from './key-path.js';
import type { GetOptions, ObjectInfo, PutOptions, Store } from './store.js';

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
  /** Deadline for a response's headers, in ms (default 30 s). */
  headersTimeoutMs?: number;
  /** A body that delivers no byte for this long fails with TimeoutError (default 30 s). */
  idleTimeoutMs?: number;
  /** Attempts for GET/HEAD on transport errors and 5xx, with backoff (default 3). */
  attempts?: number;
}

const NO_COORDINATION =
  'an HTTP store cannot coordinate rollouts; use a directory or S3 store (HTTP has no create-if-absent or compare-and-swap)';

/** A Transform that fails with TimeoutError when no chunk passes for `ms` (a trickling or stalled body). */
function idleGuard(ms: number, what: string, onIdle: () => void): Transform {
  let timer: NodeJS.Timeout | undefined;
  const t = new Transform({
    transform(chunk, _e, done) {
      arm();
      done(null, chunk);
    },
    flush(done) {
      clearTimeout(timer);
      done();
    },
  });
  function arm(): void {
    clearTimeout(timer);
    timer = setTimeout(() => {
      onIdle();
      t.destroy(new TimeoutError(`${what}: no data for ${ms} ms`, { what }));
    }, ms);
  }
  t.on('close', () => clearTimeout(timer));
  arm();
  return t;
}

/**
 * A read-mostly store over plain HTTP(S) (nginx, Artifactory, any static host): GET and HEAD on BASE/KEY,
 * PUT and DELETE only when writable. There is no listing convention over HTTP, so `list` and every
 * conditional write throw UnsupportedOperationError. Bodies are capped by counting bytes (Content-Length is
 * never trusted), stalled bodies time out, GET/HEAD retry transport errors and 5xx with backoff.
 */
export function createHttpStore(o: HttpStoreOptions): Store {
  const base = new URL(o.base);
  const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  const c = o.credentials;
  const auth =
    c?.kind === 'bearer'
      ? `Bearer ${c.token}`
      : c?.kind === 'basic'
        ? basic(c.username, c.password)
        : base.username !== '' || base.password !== ''
          ? basic(decodeURIComponent(base.username), decodeURIComponent(base.password))
          : undefined;
  base.username = '';
  base.password = '';
  const { url } = o;
  const writable = o.writable ?? false;
  const headersMs = o.headersTimeoutMs ?? 30_000;
  const idleMs = o.idleTimeoutMs ?? 30_000;
  const attempts = o.attempts ?? 3;
  const target = (key: string): string => new URL(checkKey(key).split('/').map(encodeURIComponent).join('/'), base).href;
  const headers = (extra: Record<string, string> = {}): Record<string, string> =>
    auth === undefined ? extra : { ...extra, authorization: auth };

  async function send(op: string, key: string, init: RequestInit, signal?: AbortSignal): Promise<Response> {
    const href = target(key);
    const retryable = init.method === 'GET' || init.method === 'HEAD';
    for (let attempt = 1; ; attempt++) {
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(new TimeoutError(`${op} ${key} in ${url}: no response in ${headersMs} ms`)), headersMs);
      const onAbort = (): void => ctl.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const res = await fetch(href, { ...init, signal: ctl.signal });
        if (res.status >= 500 && retryable && attempt < attempts) {
          await res.body?.cancel();
          throw new TransportError(`${op} ${key} in ${url}: HTTP ${res.status}`, { url, key, status: res.status });
        }
        return res;
      } catch (err) {
        signal?.throwIfAborted();
        const mapped = ctl.signal.reason instanceof TimeoutError ? ctl.signal.reason : httpNetworkError(err, op, key, url);
        if (!retryable || attempt >= attempts || !(mapped instanceof TransportError || mapped instanceof TimeoutError)) {
          throw mapped;
        }
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt * (0.5 + Math.random())));
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
    }
  }

  async function get(key: string, opts: GetOptions = {}): Promise<Readable> {
    const res = await send('get', key, { method: 'GET', headers: headers() }, opts.signal);
    if (!res.ok || res.body === null) {
      await res.body?.cancel();
      throw httpStatusError(res.status, 'get', key, url);
    }
    const what = `${key} in ${url}`;
    const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
    // Destroying the web-stream adapter cancels the response, which closes the connection.
    const idle = idleGuard(idleMs, what, () => body.destroy());
    body.on('error', (err) => idle.destroy(idle.destroyed ? undefined : httpNetworkError(err, 'get', key, url)));
    idle.on('close', () => body.destroy());
    body.pipe(idle);
    const out = guardBody(idle, what, opts.maxBytes, (err) => httpNetworkError(err, 'get', key, url));
    return opts.signal === undefined ? out : addAbortSignal(opts.signal, out);
  }

  async function head(key: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
    const res = await send('head', key, { method: 'HEAD', headers: headers() }, opts.signal);
    if (!res.ok) throw httpStatusError(res.status, 'head', key, url);
    const lm = res.headers.get('last-modified');
    return {
      key,
      size: Number(res.headers.get('content-length') ?? 0),
      etag: normaliseEtag(res.headers.get('etag') ?? ''),
      ...(lm !== null ? { lastModified: new Date(lm) } : {}),
    };
  }

  function refuse(op: string, key: string, why: string): never {
    throw new UnsupportedOperationError(`${op} ${key}: ${why} (${url})`, { url, key, op });
  }

  async function put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<{ etag: string }> {
    if (opts.ifNoneMatch !== undefined || opts.ifMatch !== undefined) refuse('put', key, NO_COORDINATION);
    if (!writable) refuse('put', key, 'this HTTP store is read-only (open it writable or add ?writable=1)');
    const length = Buffer.isBuffer(body) ? body.length : opts.contentLength;
    const init: RequestInit & { duplex?: 'half' } = {
      method: 'PUT',
      headers: headers({
        'content-type': opts.contentType ?? 'application/octet-stream',
        ...(length !== undefined ? { 'content-length': String(length) } : {}),
      }),
      body: Buffer.isBuffer(body) ? body : Readable.toWeb(body),
      duplex: 'half',
    };
    const res = await send('put', key, init, opts.signal);
    await res.body?.cancel();
    if (!res.ok) throw httpStatusError(res.status, 'put', key, url);
    return { etag: normaliseEtag(res.headers.get('etag') ?? '') };
  }

  async function del(key: string, opts: { ifMatch?: string } = {}): Promise<void> {
    if (opts.ifMatch !== undefined) refuse('delete', key, NO_COORDINATION);
    if (!writable) refuse('delete', key, 'this HTTP store is read-only (open it writable or add ?writable=1)');
    const res = await send('delete', key, { method: 'DELETE', headers: headers() });
    await res.body?.cancel();
    if (!res.ok && res.status !== 404 && res.status !== 410) throw httpStatusError(res.status, 'delete', key, url);
  }

  return {
    url,
    capabilities: { write: writable, conditionalWrites: false },
    get,
    async getBytes(key, opts) {
      return readCapped(await get(key, opts), opts.maxBytes, `${key} in ${url}`);
    },
    put,
    head,
    list(prefix) {
      // Inside the executor, the refusal rejects the promise (as from every other Store method) instead of throwing.
      return new Promise(() => refuse('list', prefix, 'an HTTP store has no listing; list through the directory or S3 store behind it'));
    },
    delete: del,
    isNotFound: (err) => err instanceof NotFoundError,
    close: () => Promise.resolve(),
  };
}
