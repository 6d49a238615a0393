import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One NAR request's step, in the order the proxy saw them: asked for, or its held answer begun. */
export interface NarFlightEvent {
  /** The NAR's path on the server, `/nar/…`. */
  nar: string;
  step: 'asked' | 'answered';
}

/** A loopback proxy in front of a Nix cache's HTTP server that counts the NAR requests in flight. */
export interface NarFlightProxy {
  /** The proxy's URL, `http://127.0.0.1:PORT/`. */
  url: string;
  /** The most NAR requests in flight at once since the last reset. */
  most(): number;
  /** Every NAR request's steps since the last reset, in order. */
  events(): readonly NarFlightEvent[];
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
  let events: NarFlightEvent[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    const nar = path.startsWith('/nar/');
    if (nar) {
      most = Math.max(most, ++inFlight);
      events.push({ nar: path, step: 'asked' });
    }
    const up = request({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      setTimeout(() => {
        if (nar) events.push({ nar: path, step: 'answered' });
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
    events: () => events,
    reset: () => {
      most = 0;
      events = [];
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
