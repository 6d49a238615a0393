import { createServer } from 'node:net';

/**
 * A TCP port that was free on 127.0.0.1 a moment ago (bound to port 0, then released). Good enough for test
 * and benchmark servers on one machine; a server that loses the race fails to listen and says so.
 */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}
