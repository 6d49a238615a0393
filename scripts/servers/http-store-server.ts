import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { FlotillaError } from '../../src/errors/index.js';
import { openIfExists, readEtag } from '../../src/store/fs-etag.js';
import { createFsStore } from '../../src/store/fs-store.js';
import { checkKey, keyPath } from '../../src/store/key-path.js';

/** A running loopback HTTP server over a directory store. `url` ends with '/': objects are at `${url}KEY`. */
export interface HttpStoreServer {
  url: string;
  /** Requests served so far (tests assert "nothing was fetched" with it). */
  requests(): number;
  close(): Promise<void>;
}

function keyOf(req: IncomingMessage): string | undefined {
  try {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    return checkKey(path.slice(1).split('/').map(decodeURIComponent).join('/'));
  } catch {
    return undefined;
  }
}

function statusOf(err: unknown): number {
  if (!(err instanceof FlotillaError)) return 500;
  return err.code === 'PreconditionFailedError' ? 412 : err.code === 'InvalidNameError' ? 400 : 500;
}

/** RFC 9110 If-None-Match: `*` or a list of (possibly weak) quoted tags, compared weakly. */
function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === `"${etag}"`);
}

async function serveRead(root: string, key: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = keyPath(root, key);
  const fh = await openIfExists(path);
  if (fh === undefined) {
    res.writeHead(404).end();
    return;
  }
  try {
    const { etag, stat } = await readEtag(path, fh);
    if (matchesIfNoneMatch(req.headers['if-none-match'], etag)) {
      res.writeHead(304, { etag: `"${etag}"` }).end();
      return;
    }
    res.writeHead(200, {
      'content-length': String(stat.size),
      'content-type': 'application/octet-stream',
      etag: `"${etag}"`,
      'last-modified': new Date(Number(stat.mtimeMs)).toUTCString(),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await pipeline(fh.createReadStream({ autoClose: false, start: 0 }), res);
  } finally {
    await fh.close();
  }
}

/**
 * Serves the directory store at `root` over HTTP on 127.0.0.1 (a free port): GET and HEAD with
 * Content-Length, a quoted sha256 ETag (the directory store's etag) and Last-Modified, 304 for a matching
 * If-None-Match; PUT and DELETE through
 * the directory store when `writable` (405 otherwise). Invalid keys get 400, missing ones 404. Over HTTPS
 * with `tls` (PEM key and certificate). For tests and benchmarks; it does no authentication.
 */
export async function startHttpStoreServer(root: string, options: { writable?: boolean; tls?: { key: string; cert: string } } = {}): Promise<HttpStoreServer> {
  const store = createFsStore(root);
  let count = 0;
  const serve: RequestListener = (req, res) => {
    count++;
    const key = keyOf(req);
    const handle = async (): Promise<void> => {
      if (key === undefined) {
        res.writeHead(400).end();
        return;
      }
      if (req.method === 'GET' || req.method === 'HEAD') return serveRead(root, key, req, res);
      if (!options.writable || (req.method !== 'PUT' && req.method !== 'DELETE')) {
        req.resume();
        res.writeHead(405, { allow: options.writable ? 'GET, HEAD, PUT, DELETE' : 'GET, HEAD' }).end();
        return;
      }
      if (req.method === 'PUT') {
        const { etag } = await store.put(key, req);
        res.writeHead(201, { etag: `"${etag}"` }).end();
        return;
      }
      await store.delete(key);
      res.writeHead(204).end();
    };
    handle().catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else res.writeHead(statusOf(err), { 'content-type': 'text/plain' }).end(String((err as Error).message));
    });
  };
  const server = options.tls ? createTlsServer(options.tls, serve) : createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}/`,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
