import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** A TCP server on 127.0.0.1 that accepts every connection, reads what comes and never answers. */
export interface SilentServer {
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** Resolves once at least `n` connections have been accepted. */
  connected(n?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a silent server (the "accepts and never answers" endpoint of issue 14). */
export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let count = 0;
  const waiters: Array<{ n: number; done: () => void }> = [];
  const server = createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.resume();
    for (const w of waiters.splice(0)) {
      if (count >= w.n) w.done();
      else waiters.push(w);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => count,
    connected: (n = 1) => (count >= n ? Promise.resolve() : new Promise((done) => waiters.push({ n, done }))),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
