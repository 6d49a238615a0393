import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback proxy in front of a Nix cache's HTTP server that counts the NAR requests in flight. */
export interface NarFlightProxy {
  /** The proxy's URL, `http://127.0.0.1:PORT/`. */
  url: string;
  /** The most NAR requests in flight at once since the last reset. */
  most(): number;
  reset(): void;
  close(): Promise<void>;
}

/**
 * Starts a proxy forwarding every request to `target` (an http://127.0.0.1:PORT/ URL), holding each NAR
 * response (`/nar/…`) `holdMs` before it answers, so that NARs fetched at once overlap and are counted.
 */
export async function startNarFlightProxy(target: string, holdMs = 150): Promise<NarFlightProxy> {
  const to = new URL(target);
  let inFlight = 0;
  let most = 0;
  const server = createServer((req, res) => {
    const nar = (req.url ?? '').startsWith('/nar/');
    if (nar) most = Math.max(most, ++inFlight);
    const up = request({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      setTimeout(() => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
        r.on('end', () => void (nar && inFlight--));
      }, nar ? holdMs : 0);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    most: () => most,
    reset: () => void (most = 0),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
