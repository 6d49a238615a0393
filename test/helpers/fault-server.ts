import { readFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** How the fault server misbehaves for the keys it is told to break. */
export type Fault = 'trickle' | 'reset' | 'status-503' | 'endless' | 'none';

/** A loopback HTTP store that serves a directory store's files, breaking chosen keys in chosen ways. */
export interface FaultServer {
  url: string;
  /** Sets the fault for keys starting with `prefix` (later calls replace earlier ones). */
  setFault(prefix: string, fault: Fault): void;
  requests(): number;
  close(): Promise<void>;
}

/** Until `res` drains or closes; the listener of the one that did not happen is removed (one per wait would pile up). */
function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.once('drain', done).once('close', done);
  });
}

async function misbehave(fault: Fault, body: Buffer, res: ServerResponse, stop: () => boolean): Promise<void> {
  if (fault === 'status-503') {
    res.writeHead(503).end();
    return;
  }
  if (fault === 'reset') {
    res.writeHead(200, { 'content-length': body.length });
    res.write(body.subarray(0, Math.floor(body.length / 2)));
    setTimeout(() => res.socket?.destroy(), 20);
    return;
  }
  if (fault === 'endless') {
    // Chunked, no Content-Length: only the reader's byte cap (the signed size) can stop it.
    res.writeHead(200);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    res.write(body);
    while (!stop() && !res.destroyed) {
      if (!res.write(chunk)) await drainOrClose(res);
    }
    return;
  }
  // trickle: one byte per second, for as long as the client listens.
  res.writeHead(200, { 'content-length': body.length });
  for (let i = 0; i < body.length && !stop() && !res.destroyed; i++) {
    res.write(body.subarray(i, i + 1));
    await new Promise((r) => setTimeout(r, 1000));
  }
  res.end();
}

/** Starts a fault server over the directory store at `root` (keys map to files under it). */
export async function startFaultServer(root: string): Promise<FaultServer> {
  const faults = new Map<string, Fault>();
  let count = 0;
  let closing = false;
  const server = createServer((req, res) => {
    count++;
    const key = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
    void (async () => {
      let body: Buffer;
      try {
        body = await readFile(join(root, key));
      } catch {
        res.writeHead(404).end();
        return;
      }
      const fault = [...faults].find(([p]) => key.startsWith(p))?.[1] ?? 'none';
      if (fault === 'none' || req.method === 'HEAD') {
        res.writeHead(200, { 'content-length': body.length, etag: '"x"' });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      await misbehave(fault, body, res, () => closing);
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    setFault: (prefix, fault) => void faults.set(prefix, fault),
    requests: () => count,
    close: async () => {
      closing = true;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
