import { chmod, lstat, unlink } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { StateError } from '../errors/index.js';
import type { TriggerLog } from './cron-trigger.js';
import { MAX_CONTROL_REQUEST_BYTES, parseControlRequest, type ControlRequest, type ControlResponse } from './control-protocol.js';

/** The longest unix socket path Linux takes (sun_path is 108 bytes with its NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;

/** Options of startControlSocket. */
export interface ControlSocketOptions {
  path: string;
  handle: (request: ControlRequest) => Promise<ControlResponse>;
  log?: TriggerLog;
}

/** A listening control socket; close() stops it, ends open connections and removes the file. */
export interface ControlSocket {
  path: string;
  close(): Promise<void>;
}

/** Removes a socket left by a dead daemon (the caller holds the state-dir lock); refuses any other kind of file. */
async function clearStale(path: string): Promise<void> {
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (st === undefined) return;
  if (!st.isSocket()) throw new StateError(`${path} exists and is not a socket; move it away so the agent can listen for \`flotilla agent reconcile\``, { path });
  await unlink(path);
}

function serve(socket: Socket, options: ControlSocketOptions): void {
  let buffered = '';
  const answer = (response: ControlResponse): void => {
    socket.end(`${JSON.stringify(response)}\n`);
  };
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    const nl = buffered.indexOf('\n');
    if (nl < 0) {
      if (buffered.length > MAX_CONTROL_REQUEST_BYTES) answer({ ok: false, error: { code: 'UsageError', message: 'request line too long' } });
      return;
    }
    socket.removeAllListeners('data');
    const request = parseControlRequest(buffered.slice(0, nl));
    if (request === undefined) return answer({ ok: false, error: { code: 'UsageError', message: 'unknown request; expected {"op":"reconcile"} or {"op":"status"}' } });
    options.handle(request).then(answer, (err: unknown) => answer({ ok: false, error: { code: 'InternalError', message: err instanceof Error ? err.message : String(err) } }));
  });
}

/**
 * Listens on the unix socket `path`, created 0600: only the agent's user (and root) may connect, which is
 * the whole access check (the kernel checks write permission on connect). The umask is narrowed around the
 * bind, so the socket is never reachable by others, even for a moment. A stale socket of a dead daemon is
 * replaced (the caller holds the state-dir lock, so no live agent owns it). Throws StateError when the path
 * is too long for a unix socket or holds something else; rejects with the listen error.
 */
export async function startControlSocket(options: ControlSocketOptions): Promise<ControlSocket> {
  const { path } = options;
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new StateError(`control socket path ${path} is longer than ${MAX_SOCKET_PATH_BYTES} bytes (a unix socket limit); use a shorter stateDir`, { path });
  }
  await clearStale(path);
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    serve(socket, options);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const old = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(old);
    }
  });
  await chmod(path, 0o600);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
