import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback HTTP proxy in front of one server that records each request's method and path. */
export interface RecordingProxy {
  url: string;
  /** `METHOD /path` of every request so far, in arrival order. */
  seen: string[];
  /** Each answer's status and body bytes, in the order the answers finished. */
  answers: { request: string; status: number; bytes: number }[];
  close(): Promise<void>;
}

/**
 * Starts a proxy forwarding every request to `target` (an http://127.0.0.1:PORT/ URL) unchanged, so a test
 * can tell which keys a client asked a store for (object fetches apart from signature lookups).
 */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const to = new URL(target);
  const seen: string[] = [];
  const answers: RecordingProxy['answers'] = [];
  const server = createServer((req, res) => {
    const line = `${req.method ?? 'GET'} ${req.url ?? '/'}`;
    seen.push(line);
    const up = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      let bytes = 0;
      r.on('data', (chunk: Buffer) => (bytes += chunk.length));
      r.on('end', () => answers.push({ request: line, status: r.statusCode ?? 502, bytes }));
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    seen,
    answers,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
