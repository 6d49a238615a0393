// The trust the launcher defers (src/util/deferred-ca-certs.ts), in this process: a real TLS server whose
// certificate a private CA made with the real openssl signed, reached by node:https and by fetch (undici:
// health checks, notifications). Whatever NODE_EXTRA_CA_CERTS this file's process started with, it is not
// the private CA: trusting the server comes from the deferred file alone.
import { get, type RequestOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createServer, type Server } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFERRED_CA_ENV, takeDeferredCaCerts, trustDeferredCaCerts } from '../../src/util/deferred-ca-certs.js';
import { makeScratch, type Scratch } from '../../scripts/world/tools.js';
import { makeTlsFixture, type TlsFixture } from '../helpers/tls-cert.js';

let scratch: Scratch;
let tls: TlsFixture;
let server: Server;
let url: string;

beforeAll(async () => {
  scratch = await makeScratch('deferred-ca');
  tls = await makeTlsFixture(scratch.path);
  server = createServer({ key: tls.key, cert: tls.cert }, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}, 60_000);
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await scratch.cleanup();
});

/** A GET over node:https with `options` and a fresh socket: 'ok' (or the protocol, with `protocol`), or the TLS error's code. */
function httpsGet(options: RequestOptions = {}, protocol = false): Promise<string> {
  return new Promise((resolve) => {
    get(url, { ...options, agent: false }, (res) => {
      res.resume();
      const proto = (res.socket as TLSSocket).getProtocol() ?? '?';
      resolve(res.statusCode !== 200 ? `status ${res.statusCode}` : protocol ? proto : 'ok');
    }).on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

const fetchResult = (): Promise<string> => fetch(url).then((r) => (r.status === 200 ? 'ok' : `status ${r.status}`), (err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.message);

describe('deferred NODE_EXTRA_CA_CERTS', () => {
  it('takes the launcher\'s variable out of the environment and gives NODE_EXTRA_CA_CERTS back to child processes', () => {
    const env: NodeJS.ProcessEnv = { [DEFERRED_CA_ENV]: '/etc/some-ca.pem', PATH: '/bin' };
    takeDeferredCaCerts(env);
    expect(env).toEqual({ NODE_EXTRA_CA_CERTS: '/etc/some-ca.pem', PATH: '/bin' });
    const untouched: NodeJS.ProcessEnv = { NODE_EXTRA_CA_CERTS: '/etc/other.pem' };
    takeDeferredCaCerts(untouched);
    expect(untouched).toEqual({ NODE_EXTRA_CA_CERTS: '/etc/other.pem' });
  });

  it('once trusted, https and fetch reach a server of the deferred CA; a context with a CA of its own keeps exactly that', async () => {
    // Before: this process trusts only Node's roots.
    expect(await httpsGet()).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    takeDeferredCaCerts({ [DEFERRED_CA_ENV]: tls.caFile });
    trustDeferredCaCerts();
    expect(await httpsGet()).toBe('ok');
    expect(await fetchResult()).toBe('ok');
    // Options that make a context of its own (not the shared one) are kept, and still trust the deferred CA.
    expect(await httpsGet({}, true)).toBe('TLSv1.3');
    expect(await httpsGet({ maxVersion: 'TLSv1.2' }, true)).toBe('TLSv1.2');
    // A caller's own `ca` is left as it is: Node's roots alone do not include the private CA.
    const { rootCertificates } = await import('node:tls');
    expect(await httpsGet({ ca: [...rootCertificates] })).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
});
