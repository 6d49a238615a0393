import type { IncomingMessage, RequestOptions } from 'node:http';
import { SizeLimitError, TimeoutError, TransportError } from '../errors/index.js';

/** One request to a git server and its whole answer, read under a byte cap and a deadline. */
export interface GitHttpRequest {
  url: URL;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: Uint8Array;
  /** Whole request deadline (connect, headers, body). */
  deadlineMs: number;
  maxBytes: number;
  /** The URL as it may be shown in errors (no credentials, no query). */
  shown: string;
}

/** What the server answered: status, content type (without parameters) and the body when it was 200. */
export interface GitHttpAnswer {
  status: number;
  contentType: string;
  body: Buffer;
  /** The Retry-After header of a non-200 answer (429, 503), for the caller's backoff. */
  retryAfter?: string;
}

/**
 * Sends one request with no redirects followed and no keep-alive (a poll is one request every few
 * seconds; a pooled socket would only be held open for nothing). Reads the body of a 200 under `maxBytes`;
 * any other status is answered with an empty body. Throws TransportError (network, cut short),
 * TimeoutError, SizeLimitError. Loads node:https only for an https URL.
 */
export async function exchange(r: GitHttpRequest): Promise<GitHttpAnswer> {
  const client = r.url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const headers = { ...r.headers, ...(r.body ? { 'content-length': String(r.body.length) } : {}) };
  const options: RequestOptions = { method: r.method, headers, agent: false };
  return new Promise<GitHttpAnswer>((resolve, reject) => {
    const req = client.request(r.url, options, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const contentType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (status !== 200) {
        res.resume();
        const retryAfter = res.headers['retry-after'];
        resolve({ status, contentType, body: Buffer.alloc(0), ...(typeof retryAfter === 'string' ? { retryAfter } : {}) });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let failed = false;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (failed) return;
        if (size > r.maxBytes) {
          // Reject here: once destroyed, the response may still end with what it had, which must not count.
          failed = true;
          reject(new SizeLimitError(`${r.shown}: answer larger than ${r.maxBytes} bytes`, { url: r.shown, limit: r.maxBytes }));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        if (!failed && res.complete) resolve({ status, contentType, body: Buffer.concat(chunks) });
        else if (!failed) reject(new TransportError(`${r.shown}: answer cut short`, { url: r.shown }));
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new TimeoutError(`${r.shown}: no complete answer within ${r.deadlineMs} ms`, { url: r.shown })), r.deadlineMs);
    req.on('error', (err) => reject(err instanceof SizeLimitError || err instanceof TimeoutError ? err : new TransportError(`${r.shown}: ${err.message}`, { url: r.shown })));
    req.on('close', () => clearTimeout(timer));
    req.end(r.body);
  });
}
