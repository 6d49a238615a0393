import { connect, type Socket } from 'node:net';
import { TimeoutError, TransportError } from '../errors/index.js';
import type { ConsumeView } from './store.js';

export interface ReadIntoOptions {
  /** The bytes the body must have: a response of another length is not streamed here ('unsupported'). */
  size: number;
  /** Request headers besides Host and Connection (Authorization); values must not hold CR or LF. */
  headers: Readonly<Record<string, string>>;
  connectMs: number;
  /** The socket may be silent this long at any point (TimeoutError). */
  idleMs: number;
  /** Aborts at any point; the reader then rejects with the signal's reason. */
  signal: AbortSignal;
  /** Names the request in errors ("get KEY in URL"). */
  what: string;
}

/** The most bytes of a response head read before giving it to the general client. */
const MAX_HEAD = 16 * 1024;
/**
 * The one buffer a request's socket reads into: 1 MiB, as bare Node's floor reads. A pack written as it
 * arrives (pack-splitter-inline.ts) then takes what the socket holds in a few large reads rather than many
 * 128 KiB ones: a cold fetch over HTTP 1.025 → 0.970 s (8 alternating rounds; 4 MiB did no better).
 */
const READ_BUFFER = 1024 * 1024;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/**
 * What a response head says, when it is the plain case this reader takes: `HTTP/1.x 200`, one
 * Content-Length (repeats must agree), no Transfer-Encoding, well-formed header lines. Anything else
 * (a redirect, an error status, chunked, obsolete line folding) is undefined: the general client
 * (http-send.ts) then makes the request again and applies its rules and errors.
 */
export function plainContentLength(head: string): number | undefined {
  const lines = head.split('\r\n');
  if (!/^HTTP\/1\.[01] 200(?: [^\r\n]*)?$/.test(lines[0] ?? '')) return undefined;
  let length: number | undefined;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) return undefined;
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'transfer-encoding') return undefined;
    if (name !== 'content-length') continue;
    if (!/^\d{1,15}$/.test(value) || (length !== undefined && length !== Number(value))) return undefined;
    length = Number(value);
  }
  return length;
}

/**
 * GETs `href` (http: only) on a connection of its own and hands the body to `consume` as views of one
 * reused read buffer: no allocation per read, no parser copy, no stream. Why by hand: a cold fetch moves
 * ~150 MB through the HTTP client, whose per-read buffers and body copies cost more CPU in garbage
 * collection than everything else the fetch does (docs/performance.md, *A reader of our own for packs*).
 * It is kept to the case where that pays and is simple to get right: a 200 with a Content-Length equal
 * to `size` and no transfer coding, on a connection closed afterwards. Resolves 'unsupported', having
 * consumed nothing, for any other response and for any failure before the body's first byte (the general
 * client then tries, with its retries, redirects and error mapping); 'done' once exactly `size` bytes were
 * consumed. Once the body has begun, rejects with TransportError when the connection fails, closes early
 * or sends more than its length, TimeoutError when it is silent for `idleMs`, and whatever `consume`
 * throws; with the signal's reason on abort at any point.
 */
export function readInto(href: string, o: ReadIntoOptions, consume: ConsumeView): Promise<'done' | 'unsupported'> {
  const url = new URL(href);
  for (const [k, v] of Object.entries(o.headers)) {
    if (!TOKEN.test(k) || /[\r\n]/.test(v)) throw new TypeError(`readInto: header ${JSON.stringify(k)} is malformed`);
  }
  const request =
    `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
    Object.entries(o.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') +
    'Connection: close\r\n\r\n';
  return new Promise((resolve, reject) => {
    if (o.signal.aborted) {
      reject(asError(o.signal.reason));
      return;
    }
    let head: Buffer | undefined = Buffer.alloc(0);
    let left = o.size;
    let settled = false;
    let consuming = false;
    const finish = (err: Error | undefined, result: 'done' | 'unsupported' = 'done'): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearInterval(idleTimer);
      o.signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err === undefined) resolve(result);
      // Nothing consumed yet: the general client may still succeed (and words the error if not).
      else if (!consuming && !o.signal.aborted) resolve('unsupported');
      else reject(err);
    };
    const onAbort = (): void => finish(asError(o.signal.reason));
    const fail = (why: string): void => finish(new TransportError(`${o.what}: ${why}`, { what: o.what }));
    // Hands body bytes on, pausing the socket (false) while `consume` holds them.
    const deliver = (view: Buffer): boolean => {
      if (view.length === 0) return true;
      if (view.length > left) {
        fail(`the body is longer than its Content-Length of ${o.size} bytes`);
        return false;
      }
      left -= view.length;
      consuming = true;
      const last = left === 0;
      let wait: Promise<void> | undefined;
      try {
        wait = consume(view);
      } catch (err) {
        finish(asError(err));
        return false;
      }
      // Done with the view at once (the common case): read on, with no pause, resume or promise.
      if (wait === undefined) {
        if (last) finish(undefined);
        return !settled;
      }
      wait.then(
        () => (last ? finish(undefined) : settled ? undefined : socket.resume()),
        (err: unknown) => finish(asError(err)),
      );
      return false;
    };
    const onRead = (n: number, buf: Buffer): boolean => {
      if (settled) return false;
      heard++;
      const view = buf.subarray(0, n);
      if (head === undefined) return deliver(view);
      head = Buffer.concat([head, view]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD) finish(undefined, 'unsupported');
        return !settled;
      }
      const length = plainContentLength(head.subarray(0, end).toString('latin1'));
      if (length !== o.size) {
        finish(undefined, 'unsupported');
        return false;
      }
      // The head's read may hold the body's first bytes: a copy (the concatenation), not the read buffer.
      const rest = head.subarray(end + 4);
      head = undefined;
      return deliver(rest);
    };
    // Nothing above runs before these exist: the callbacks are called from the socket's events.
    // The idle deadline is a timer of our own, ticking every quarter of it and counting the ticks with no
    // read since the one before: the fourth such tick in a row fails the request, after idleMs to 1.25 ×
    // idleMs of silence. socket.setTimeout re-arms its timer on every read, which cost a cold fetch's main
    // thread more than its reads' own bookkeeping; here a read only bumps a counter.
    let heard = 0;
    let quietTicks = 0;
    let heardAtTick = 0;
    const tick = (): void => {
      if (settled) return;
      quietTicks = heard === heardAtTick ? quietTicks + 1 : 0;
      heardAtTick = heard;
      if (quietTicks >= 4) finish(new TimeoutError(`${o.what}: no data for ${o.idleMs} ms`, { what: o.what }));
    };
    const idleTimer = setInterval(tick, o.idleMs / 4);
    const connectTimer = setTimeout(() => finish(new TimeoutError(`${o.what}: no connection in ${o.connectMs} ms`, { what: o.what })), o.connectMs);
    const buffer = Buffer.allocUnsafeSlow(READ_BUFFER);
    const socket: Socket = connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 80), onread: { buffer, callback: (n, buf) => onRead(n, buf as Buffer) } });
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      heard++;
      socket.write(request);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
    socket.once('end', () => fail(head === undefined ? `the body ended after ${o.size - left} of ${o.size} bytes` : 'the connection closed before a response'));
    socket.once('close', () => fail('the connection closed'));
    o.signal.addEventListener('abort', onAbort, { once: true });
  });
}
