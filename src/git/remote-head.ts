import type { IncomingMessage, RequestOptions } from 'node:http';
import { GitError, SizeLimitError, TimeoutError, TransportError } from '../errors/index.js';
import { authHeaders, type GitAuth } from './git-auth.js';
import { parseRefAdvertisement } from './pkt-line-refs.js';

/** Default byte cap on one ref advertisement (a repo with many tags advertises them all). */
export const DEFAULT_MAX_ADVERTISEMENT_BYTES = 4 * 1024 * 1024;

/** Options of readRemoteHead. */
export interface RemoteHeadOptions {
  /** The repo's http(s) URL, as the agent config gives it (no credentials in it). */
  url: string;
  branch: string;
  auth?: GitAuth;
  /** Whole request deadline (connect, headers, body). */
  deadlineMs: number;
  maxBytes?: number;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(unparseable url)';
  }
}

/**
 * Asks an http(s) git server where `branch` points, with one GET of info/refs?service=git-upload-pack (the
 * ref advertisement, no pack): the oid, or null when the branch does not exist. No redirects are followed.
 * Throws TransportError (network, non-200, not a smart-HTTP answer), TimeoutError, SizeLimitError, or
 * GitError (malformed advertisement). Loads node:https only for an https URL.
 */
export async function readRemoteHead(o: RemoteHeadOptions): Promise<string | null> {
  const target = new URL(`${o.url.replace(/\/+$/, '')}/info/refs?service=git-upload-pack`);
  const client = target.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const maxBytes = o.maxBytes ?? DEFAULT_MAX_ADVERTISEMENT_BYTES;
  const shown = redact(o.url);
  const options: RequestOptions = {
    method: 'GET',
    headers: { accept: 'application/x-git-upload-pack-advertisement', 'user-agent': 'git/flotilla', ...authHeaders(o.auth) },
    agent: false,
  };
  const body = await new Promise<Buffer>((resolve, reject) => {
    const req = client.request(target, options, (res: IncomingMessage) => {
      const type = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (res.statusCode !== 200 || type !== 'application/x-git-upload-pack-advertisement') {
        res.resume();
        reject(new TransportError(`${shown}: info/refs answered ${res.statusCode} ${type || '(no content type)'}, not a smart-HTTP advertisement`, { url: shown, status: res.statusCode }));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let failed = false;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (failed) return;
        if (size > maxBytes) {
          // Reject here: once destroyed, the response may still end with what it had, which must not count.
          failed = true;
          reject(new SizeLimitError(`${shown}: ref advertisement larger than ${maxBytes} bytes`, { url: shown, limit: maxBytes }));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        if (!failed && res.complete) resolve(Buffer.concat(chunks));
        else reject(new TransportError(`${shown}: ref advertisement cut short`, { url: shown }));
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new TimeoutError(`${shown}: ref advertisement not received within ${o.deadlineMs} ms`, { url: shown })), o.deadlineMs);
    req.on('error', (err) => reject(err instanceof GitError || err instanceof SizeLimitError || err instanceof TimeoutError ? err : new TransportError(`${shown}: ${err.message}`, { url: shown })));
    req.on('close', () => clearTimeout(timer));
    req.end();
  });
  return parseRefAdvertisement(body).get(`refs/heads/${o.branch}`) ?? null;
}
