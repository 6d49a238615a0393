import { connect } from 'node:net';
import { StateError, TimeoutError } from '../errors/index.js';
import { parseControlResponse, type ControlRequest, type ControlResponse } from './control-protocol.js';

/** The longest answer read: a status of many sets stays far below it. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** No agent listens on the socket (no file, or a file nobody accepts on): the caller reads the state dir instead. */
export interface AgentNotRunning {
  running: false;
  why: string;
}

/**
 * Sends one request to the daemon listening on `path` and resolves with its answer, or { running: false }
 * when no daemon listens there (ENOENT, ECONNREFUSED). Throws StateError when the socket exists but may not
 * be used (EACCES: run as the agent's user or root) or answers garbage, and TimeoutError past `timeoutMs`.
 */
export function askAgent(path: string, request: ControlRequest, timeoutMs: number): Promise<ControlResponse | AgentNotRunning> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TimeoutError(`the agent on ${path} did not answer ${request.op} within ${timeoutMs} ms`, { path, timeoutMs }));
    }, timeoutMs);
    const finish = (fn: () => void): void => {
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > MAX_RESPONSE_BYTES) finish(() => reject(new StateError(`the agent on ${path} sent more than ${MAX_RESPONSE_BYTES} bytes`, { path })));
    });
    socket.on('end', () => {
      const response = parseControlResponse(text.trim());
      finish(() => (response === undefined ? reject(new StateError(`the agent on ${path} answered something that is not a control response`, { path })) : resolve(response)));
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') return finish(() => resolve({ running: false, why: err.code === 'ENOENT' ? `no control socket at ${path}` : `nothing listens on ${path}` }));
      if (err.code === 'EACCES' || err.code === 'EPERM') return finish(() => reject(new StateError(`${path}: permission denied; only root or the agent's user may use the agent's control socket`, { path })));
      finish(() => reject(new StateError(`${path}: ${err.message}`, { path, errno: err.code ?? null })));
    });
  });
}
