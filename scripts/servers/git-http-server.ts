import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running loopback git smart-HTTP server. `url` has no trailing slash: clone `${url}/NAME.git`. */
export interface GitHttpServer {
  url: string;
  /** Number of requests served so far (tests assert "no fetch happened" with it). */
  requests(): number;
  close(): Promise<void>;
}

const BACKEND = 'git';

/** Parses CGI response headers (up to the blank line); returns status, headers and where the body starts. */
function parseCgiHead(buf: Buffer): { status: number; headers: Array<[string, string]>; bodyStart: number } | null {
  let end = buf.indexOf('\r\n\r\n');
  let sep = 4;
  const lf = buf.indexOf('\n\n');
  if (lf !== -1 && (end === -1 || lf < end)) {
    end = lf;
    sep = 2;
  }
  if (end === -1) return null;
  let status = 200;
  const headers: Array<[string, string]> = [];
  for (const line of buf.subarray(0, end).toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
    else headers.push([name, value]);
  }
  return { status, headers, bodyStart: end + sep };
}

function serveCgi(projectRoot: string, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_PROJECT_ROOT: projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    HOME: '/nonexistent',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ''),
    REQUEST_METHOD: req.method ?? 'GET',
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    REMOTE_USER: '',
    SERVER_PROTOCOL: 'HTTP/1.1',
  };
  const gitProtocol = req.headers['git-protocol'];
  if (typeof gitProtocol === 'string') env.GIT_PROTOCOL = gitProtocol;
  // http-backend inflates a gzip request body itself when told the encoding.
  const encoding = req.headers['content-encoding'];
  if (typeof encoding === 'string') env.HTTP_CONTENT_ENCODING = encoding;
  const length = req.headers['content-length'];
  if (typeof length === 'string') env.CONTENT_LENGTH = length;

  const child = spawn(BACKEND, ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let head: Buffer = Buffer.alloc(0);
  let headerDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headerDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const parsed = parseCgiHead(head);
    if (!parsed) return;
    headerDone = true;
    res.statusCode = parsed.status;
    for (const [k, v] of parsed.headers) res.setHeader(k, v);
    const rest = head.subarray(parsed.bodyStart);
    if (rest.length) res.write(rest);
  });
  child.stderr.resume();
  child.on('error', () => {
    if (!res.headersSent) res.statusCode = 500;
    res.end();
  });
  child.on('close', () => {
    if (!headerDone && !res.headersSent) res.statusCode = 502;
    res.end();
  });
  child.stdin.on('error', () => undefined);
  req.pipe(child.stdin);
  res.on('close', () => {
    if (child.exitCode === null) child.kill();
  });
}

/**
 * Starts a bridge from node:http on 127.0.0.1 (random port) to `git http-backend` as CGI, serving every
 * bare repo under `projectRoot` (protocol v0/v1 and v2, gzip request bodies). Fetch only: receive-pack is off.
 */
export async function startGitHttpServer(projectRoot: string): Promise<GitHttpServer> {
  let count = 0;
  const server = createServer((req, res) => {
    count += 1;
    serveCgi(projectRoot, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
